"""The Table 6 ladder (Net1 -> SPAIR) and its NAF twin as model configs.

The five rungs are the packaged model configs ``configs/_base_/models/*.py`` (what
``spairkit::spair/net{1..4}.py`` and ``spair.py`` train on synthetic rain streaks; the
rungs here are only the models, task-agnostic). The NAF family puts the same guidance
on NAFNet blocks (``naf*.py``): NAF alone, + SFM, + SC, + SNL. Benchmarks need them at a
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
    """One step of a ladder: its name, what it adds, its packaged config, and whether
    it is guided by Net_L (its SFM or blocks read Net_L's features or mask)."""

    name: str
    adds: str
    config: str
    guided: bool = True


LADDER = (
    Rung('Net1', 'dense encoder-decoder (DED), no guidance',
         'spairkit::_base_/models/net1_ded.py', guided=False),
    Rung('Net2', '+ SFM (Net_L features, mask statistics)',
         'spairkit::_base_/models/net2_sfm.py'),
    Rung('Net3', '+ SC (sparse convs in the decoder)', 'spairkit::_base_/models/net3_sc.py'),
    Rung('Net4', '+ NL (standard non-local)', 'spairkit::_base_/models/net4_nl.py'),
    Rung('SPAIR', '+ SNL instead of NL (full SPAIR)', 'spairkit::_base_/models/spair.py'),
)
RUNG_NAMES = tuple(r.name for r in LADDER)

#: The same guidance on NAFNet blocks (models/backbones/nafnet.py).
NAF_LADDER = (
    Rung('NAF', 'NAFNet alone (no Net_L, no mask)', 'spairkit::_base_/models/naf.py',
         guided=False),
    Rung('NAF+SFM', '+ SFM (Net_L features at the strided convs)',
         'spairkit::_base_/models/naf_sfm.py'),
    Rung('NAF+SFM+SC', '+ SC (sparse convs after each decoder level)',
         'spairkit::_base_/models/naf_sfm_sc.py'),
    Rung('NAF+SFM+SC+SNL', '+ SNL (SPAIR on NAF blocks)',
         'spairkit::_base_/models/naf_spair.py'),
)
#: NAF alone against an SFM that starts as the identity (SFM(start_as_identity=True)):
#: an alternative second rung, kept out of the NAF ladder so its steps stay the paper's.
NAF_IDENTITY_LADDER = (
    NAF_LADDER[0],
    Rung('NAF+SFM0', '+ SFM starting as the identity (zero-initialised fusion and blend)',
         'spairkit::_base_/models/naf_sfm_identity.py'),
)
#: Every ladder, by family name.
FAMILIES = {'ded': LADDER, 'naf': NAF_LADDER, 'naf_identity': NAF_IDENTITY_LADDER}
LOCALIZER_CONFIG = 'spairkit::_base_/models/netl.py'

#: Widths of ``spairkit demo`` (configs/demo/*.py): small enough to train on 2 CPU cores.
SMALL_NETL = dict(base_channels=16, num_levels=3, growth=8, num_dense_layers=2)
SMALL_NETR = dict(base_channels=24, num_levels=3, growth=8, num_dense_layers=2)
SMALL_BLOCK_GROWTH = 8


def rung(name: str) -> Rung:
    """The rung called ``name`` (case-insensitive), of any family."""
    for family in FAMILIES.values():
        for r in family:
            if r.name.lower() == name.lower():
                return r
    names = [r.name for family in FAMILIES.values() for r in family]
    raise KeyError(f'unknown ladder rung {name!r}; choose from {", ".join(names)}')


def width_key(netr: dict) -> str:
    """The key of Net_R's level-0 width: ``width`` (NAF family) or ``base_channels``."""
    return 'width' if str(netr.get('type', '')).startswith('NAF') else 'base_channels'


def shrink_model_cfg(model: dict) -> dict:
    """A copy of a SPAIR model config at the demo's width (same change for every rung).

    The NAF family keeps its own width keys (only the block growth shrinks); its width
    is set by parameter matching (:mod:`spairkit.benchmarking.backbone_ladders`).
    """
    model = copy.deepcopy(model)
    model['netl'] = dict(model['netl'], **SMALL_NETL)
    if model.get('netr') is not None:
        netr = dict(model['netr'])
        if width_key(netr) == 'base_channels':
            netr.update(SMALL_NETR)
        if 'decoder_blocks' in netr:  # NAFNet alone takes none
            netr['decoder_blocks'] = [
                dict(block, growth=SMALL_BLOCK_GROWTH) if 'growth' in block else dict(block)
                for block in netr['decoder_blocks'] or []]
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
