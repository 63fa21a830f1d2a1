"""The Table 6 ladder (Net1 -> SPAIR) as model configs, at the library's or a small width.

The five rungs are the packaged model configs ``configs/_base_/models/*.py`` (what
``spairkit::spair/net{1..4}.py`` and ``spair.py`` train on synthetic rain streaks; the
rungs here are only the models, task-agnostic). Benchmarks need them at a
CPU-sized width too; :func:`shrink_model_cfg` narrows every rung *in the same way*
(widths, growth rates, encoder depth), so the rungs still differ only in the blocks
that Table 6 adds, which is the comparison the ablation is about.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from spairkit.config import load_config


@dataclass(frozen=True)
class Rung:
    """One step of the ladder: its name, what it adds, and its packaged config."""

    name: str
    adds: str
    config: str


LADDER = (
    Rung('Net1', 'dense encoder-decoder (DED), no guidance',
         'spairkit::_base_/models/net1_ded.py'),
    Rung('Net2', '+ SFM (Net_L features, mask statistics)',
         'spairkit::_base_/models/net2_sfm.py'),
    Rung('Net3', '+ SC (sparse convs in the decoder)', 'spairkit::_base_/models/net3_sc.py'),
    Rung('Net4', '+ NL (standard non-local)', 'spairkit::_base_/models/net4_nl.py'),
    Rung('SPAIR', '+ SNL instead of NL (full SPAIR)', 'spairkit::_base_/models/spair.py'),
)
RUNG_NAMES = tuple(r.name for r in LADDER)
LOCALIZER_CONFIG = 'spairkit::_base_/models/netl.py'

#: Widths of ``spairkit demo`` (configs/demo/*.py): small enough to train on 2 CPU cores.
SMALL_NETL = dict(base_channels=16, num_levels=3, growth=8, num_dense_layers=2)
SMALL_NETR = dict(base_channels=24, num_levels=3, growth=8, num_dense_layers=2)
SMALL_BLOCK_GROWTH = 8


def rung(name: str) -> Rung:
    """The rung called ``name`` (case-insensitive)."""
    for r in LADDER:
        if r.name.lower() == name.lower():
            return r
    raise KeyError(f'unknown ladder rung {name!r}; choose from {", ".join(RUNG_NAMES)}')


def shrink_model_cfg(model: dict) -> dict:
    """A copy of a SPAIR model config at the demo's width (same change for every rung)."""
    model = copy.deepcopy(model)
    model['netl'] = dict(model['netl'], **SMALL_NETL)
    if model.get('netr') is not None:
        netr = dict(model['netr'], **SMALL_NETR)
        blocks = []
        for block in netr.get('decoder_blocks') or []:
            block = dict(block)
            if 'growth' in block:
                block['growth'] = SMALL_BLOCK_GROWTH
            blocks.append(block)
        netr['decoder_blocks'] = blocks
        model['netr'] = netr
    return model


def model_cfg(name: str, small: bool = False) -> dict:
    """The restorer-stage model config of rung ``name`` (plain dict, no checkpoint)."""
    cfg = load_config(rung(name).config)
    model = cfg.to_dict()['model']
    model['netl_checkpoint'] = None
    return shrink_model_cfg(model) if small else model


def localizer_model_cfg(small: bool = False) -> dict:
    """The localizer-stage model config (Net_L alone)."""
    model = load_config(LOCALIZER_CONFIG).model.to_dict()
    if small:
        model['netl'] = dict(model['netl'], **SMALL_NETL)
    return model
