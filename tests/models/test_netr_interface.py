"""SPAIR builds any Net_R that follows the interface, without reading its config keys."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from spairkit.config import load_config
from spairkit.errors import ConfigError
from spairkit.models.networks.interface import NetRInterface, build_netr, check_netr
from spairkit.registry import MODELS

from .helpers import TINY_NETL, TINY_NETR, make_batch, synthetic_pairs

REPO = Path(__file__).resolve().parents[2]


class GuidedAtOne(nn.Module, NetRInterface):
    """A Net_R with its own argument names: one conv, plus Net_L's level-1 feature."""

    stride = 2

    def __init__(self, width: int = 5, guide_channels=None):
        super().__init__()
        self.body = nn.Conv2d(3, 3, 3, padding=1)
        self.widths = tuple(guide_channels)  # given by SPAIR: Net_L's widths
        self.proj = nn.Conv2d(self.widths[1], 3, 1)
        self.seen = None

    @property
    def guide_levels(self):
        return (1,)

    @property
    def guide_widths(self):
        return (self.widths[1],)

    def forward(self, x, mask, guides):
        self.seen = guides
        g = nn.functional.interpolate(self.proj(guides[1]), size=x.shape[-2:])
        return x + self.body(x) * mask + g * 0.01


class Unguided(nn.Module, NetRInterface):
    def __init__(self, depth: int = 1):
        super().__init__()
        self.body = nn.Conv2d(3, 3, 3, padding=1)
        self.got_guides = 'unset'

    def forward(self, x, mask, guides):
        self.got_guides = guides
        return x + self.body(x)


class NotANetR(nn.Module):
    def forward(self, x, mask, guides):
        return x


@pytest.fixture
def registered():
    names = []
    for cls in (GuidedAtOne, Unguided, NotANetR):
        MODELS.register_module(name=f'Test{cls.__name__}', module=cls, force=True)
        names.append(f'Test{cls.__name__}')
    yield
    for name in names:
        MODELS.module_dict.pop(name, None)


def _spair(netr):
    return MODELS.build(dict(type='SPAIR', netl=TINY_NETL, netr=netr, use_gt_mask=True))


def test_spair_builds_a_net_r_with_other_argument_names(registered):
    model = _spair(dict(type='TestGuidedAtOne', width=7))
    assert model.netr.widths == tuple(model.netl.feature_channels)
    deg, clean, mask = synthetic_pairs(2, size=16)
    data = model.data_preprocessor(make_batch(deg, clean, mask))
    losses = model(**data, mode='loss')
    assert losses['loss_l1'].requires_grad
    assert len(model.netr.seen) == len(model.netl.feature_channels)  # Net_L's features


def test_a_net_r_without_guides_gets_none_and_no_widths(registered):
    model = _spair(dict(type='TestUnguided', depth=2))
    deg, clean, mask = synthetic_pairs(1, size=16)
    data = model.data_preprocessor(make_batch(deg, clean, mask))
    model(**data, mode='tensor')
    assert model.netr.got_guides is None


def test_a_module_without_the_interface_is_named(registered):
    with pytest.raises(ConfigError, match=r"model.netr \(NotANetR\) does not implement the "
                                          r"Net_R interface: it lacks \['stride', 'guide_levels'"):
        _spair(dict(type='TestNotANetR'))


def test_guides_beyond_netl_levels_and_wrong_widths_are_config_errors(registered):
    at_one = GuidedAtOne(guide_channels=[4, 8])
    with pytest.raises(ConfigError, match=r'\(GuidedAtOne\) reads the Net_L guide of level 1, '
                                          r'but Net_L has 1 levels'):
        check_netr(at_one, [4])
    netr = MODELS.build(dict(TINY_NETR, guide_channels=[5, 8]))  # SFM at level 0
    with pytest.raises(ConfigError, match='expects 5 guide channels at level 0, Net_L gives 4'):
        check_netr(netr, [4, 8])
    with pytest.raises(ConfigError, match='model.netl.num_levels'):
        check_netr(netr, [])
    with pytest.raises(ConfigError, match='num_levels'):
        _spair(dict(TINY_NETR, num_levels=3))


@pytest.mark.parametrize('config, levels', [
    ('spairkit::_base_/models/spair.py', (0, 1)),
    ('spairkit::_base_/models/net1_ded.py', ()),
    ('spairkit::_base_/models/spair_timm.py', (0, 1)),
    ('spairkit::_base_/models/naf.py', ()),
    ('spairkit::_base_/models/naf_sfm.py', (0, 1)),
    ('spairkit::_base_/models/naf_spair.py', (0, 1)),
    (str(REPO / 'examples/custom_netr/configs/spair_coarse_snl_mobilenet.py'), (0,)),
])
def test_packaged_and_example_net_rs_conform(config, levels):
    model_cfg = load_config(config).model
    netl = MODELS.build(model_cfg.netl)
    netr = build_netr(model_cfg.netr.to_dict(), netl.feature_channels)
    assert isinstance(netr, NetRInterface)
    assert netr.guide_levels == levels
    assert netr.guide_widths == tuple(netl.feature_channels[lv] for lv in levels)
    assert netr.stride == 2 ** (len(netl.feature_channels) - 1)


def test_nafnet_restorer_conforms():
    netr = build_netr(dict(type='NAFNetR', width=8, num_levels=2, sfm=dict(type='SFM')), [4, 8])
    assert netr.guide_levels == (0,) and netr.guide_widths == (4,) and netr.stride == 2
    plain = build_netr(dict(type='NAFNet', width=8, num_levels=2), [4, 8])
    assert plain.guide_levels == ()
    x = torch.rand(1, 3, 8, 8)
    assert plain(x, None, None).shape == x.shape


def test_uses_mask_follows_the_blocks_that_read_it():
    dense_only = dict(type='NetR', base_channels=8, num_levels=2, growth=4, num_dense_layers=1,
                      decoder_blocks=[dict(type='DenseBlock', growth=4, num_layers=1)])
    assert not build_netr(dense_only, [4, 8]).uses_mask  # DenseBlock ignores its mask
    sc = dict(dense_only, decoder_blocks=[dict(type='SparseConvBlock', growth=4, num_layers=1)])
    assert build_netr(sc, [4, 8]).uses_mask
    assert build_netr(dict(dense_only, sfm=dict(type='SFM')), [4, 8]).uses_mask
    assert not build_netr(dict(type='NAFNetR', width=8, num_levels=2, decoder_blocks=[]),
                          [4, 8]).uses_mask
