"""NAFNet-style blocks and Net_R: shapes, odd sizes, parameter counts, SPAIR guidance."""
from __future__ import annotations

import pytest
import torch

from spairkit.errors import ConfigError
from spairkit.registry import MODELS

from .helpers import TINY_NETL, make_batch, random_mask, synthetic_pairs

GUIDED = dict(type='NAFNetR', width=8, num_levels=2,
              decoder_blocks=[dict(type='SparseConvBlock', growth=4, num_layers=2),
                              dict(type='SparseNonLocal')],
              sfm=dict(type='SFM'))


def nafblock_params(c: int) -> int:
    """Norms 2x2c; 1x1 c->2c, dw 3x3 on 2c, SCA c->c, 1x1 c->c; FFN c->2c, c->c; beta, gamma."""
    return 7 * c * c + 33 * c


def test_nafblock_parameter_count_and_identity_at_init():
    block = MODELS.build(dict(type='NAFBlock', channels=12))
    assert sum(p.numel() for p in block.parameters()) == nafblock_params(12)
    x = torch.randn(2, 12, 5, 7)
    assert torch.equal(block(x), x)  # beta = gamma = 0: a fresh block passes its input


def test_nafnet_parameter_count():
    w, levels = 8, 3
    net = MODELS.build(dict(type='NAFNet', width=w, num_levels=levels, enc_blocks=[1, 1, 2],
                            dec_blocks=1))
    chans = [w, 2 * w, 4 * w]
    expected = (3 * w * 9 + w) + (w * 3 * 9 + 3)  # intro, ending
    expected += sum(nafblock_params(c) for c in [chans[0], chans[1], chans[2], chans[2]])
    expected += sum(nafblock_params(chans[lv]) for lv in range(levels - 1))  # decoders
    expected += sum(chans[lv] * chans[lv + 1] * 4 + chans[lv + 1] for lv in range(levels - 1))
    expected += sum(chans[lv + 1] * chans[lv] * 4 for lv in range(levels - 1))  # 1x1 ups
    assert sum(p.numel() for p in net.parameters()) == expected


@pytest.mark.parametrize('size', [(16, 16), (13, 21), (1, 5), (7, 1)])
def test_nafnet_restores_any_size(size):
    torch.manual_seed(0)
    net = MODELS.build(dict(type='NAFNet', width=4, num_levels=3))
    x = torch.rand(2, 3, *size)
    out = net(x)
    assert out.shape == x.shape and torch.isfinite(out).all()


@pytest.mark.parametrize('size', [(16, 16), (15, 9)])
def test_guided_nafnet_shapes_and_masks(size):
    torch.manual_seed(0)
    ph, pw = -(-size[0] // 2) * 2, -(-size[1] // 2) * 2  # padded to the stride 2
    guides = [torch.randn(2, 4, ph, pw), torch.randn(2, 8, ph // 2, pw // 2)]
    net = MODELS.build(dict(GUIDED, guide_channels=[4, 8]))
    x = torch.rand(2, 3, *size)
    for mask in [random_mask(2, *size, seed=1), torch.zeros(2, 1, *size),
                 torch.ones(2, 1, *size)]:
        out = net(x, mask, guides)
        assert out.shape == x.shape and torch.isfinite(out).all()
    with pytest.raises(ValueError, match='mask'):
        net(x)


def test_identity_sfm_makes_a_fresh_guided_nafnet_equal_nafnet_alone():
    torch.manual_seed(0)
    guides = [torch.randn(2, 4, 16, 16), torch.randn(2, 8, 8, 8)]
    guided = MODELS.build(dict(type='NAFNetR', width=8, num_levels=2, decoder_blocks=[],
                               sfm=dict(type='SFM', start_as_identity=True),
                               guide_channels=[4, 8]))
    alone = MODELS.build(dict(type='NAFNet', width=8, num_levels=2))
    alone.load_state_dict({k: v for k, v in guided.state_dict().items()
                           if not k.startswith('sfm.')})
    x = torch.rand(2, 3, 16, 16)
    mask = random_mask(2, 16, 16, seed=3)
    assert torch.allclose(guided(x, mask, guides), alone(x), atol=1e-6)


def test_sc_and_snl_leave_clean_pixels_to_the_backbone():
    """The decoder blocks only change degraded pixels: with an empty mask the guided net
    without SFM equals the same net with its decoder blocks removed."""
    torch.manual_seed(0)
    cfg = dict(GUIDED, sfm=None)
    guided = MODELS.build(cfg)
    plain = MODELS.build(dict(cfg, decoder_blocks=[[], []]))
    plain.load_state_dict(guided.state_dict(), strict=False)
    x = torch.rand(1, 3, 12, 12)
    empty = torch.zeros(1, 1, 12, 12)
    assert torch.allclose(guided(x, empty), plain(x, empty), atol=1e-6)


def test_spair_with_nafnet_restorer_trains_one_step():
    deg, clean, mask = synthetic_pairs(2, size=16)
    torch.manual_seed(0)
    model = MODELS.build(dict(type='SPAIR', netl=TINY_NETL, netr=dict(GUIDED, guide_channels=None),
                              use_gt_mask=True))
    assert model.netr.uses_guides
    batch = model.data_preprocessor(make_batch(deg, clean, mask), training=True)
    loss = model(**batch, mode='loss')['loss_l1']
    loss.backward()
    grads = [p.grad for p in model.netr.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    preds = model(**batch, mode='predict')
    assert preds[0]['pred'].shape == (3, 16, 16)
    dense = MODELS.build(dict(type='SPAIR', netl=TINY_NETL, use_gt_mask=True,
                              netr=dict(type='NAFNet', width=8, num_levels=2)))
    assert not dense.netr.uses_guides
    assert dense(**batch, mode='loss')['loss_l1'].requires_grad


@pytest.mark.parametrize('cfg,match', [
    (dict(type='NAFNet', enc_blocks=[1, 1]), 'enc_blocks'),
    (dict(type='NAFNet', width=0), 'width'),
    (dict(type='NAFNetR', sfm=dict(type='SFM')), 'guide_channels'),
    (dict(type='NAFNetR', num_levels=2, sfm_levels=[1]), 'sfm_levels'),
])
def test_bad_nafnet_configs(cfg, match):
    with pytest.raises(ConfigError, match=match):
        MODELS.build(cfg)


def test_nafnet_localizer_trains_and_guides_a_nafnet_restorer():
    """NAFNetL honours Net_L's contract: logits (N,1,H,W), per-level features whose
    widths SPAIR hands to an SFM-guided Net_R, on odd sizes, in both stages."""
    deg, clean, mask = synthetic_pairs(2, size=13)
    torch.manual_seed(0)
    netl = dict(type='NAFNetL', width=4, num_levels=2, enc_blocks=[1, 2])
    localizer = MODELS.build(dict(type='SPAIR', stage='localizer', netl=netl))
    assert localizer.netl.feature_channels == [4, 8]
    batch = localizer.data_preprocessor(make_batch(deg, clean, mask), training=True)
    logits = localizer(**batch, mode='tensor')
    assert logits.shape == (2, 1, 13, 13)
    loss = localizer(**batch, mode='loss')['loss_bce']
    loss.backward()
    assert all(p.grad is not None for p in localizer.netl.parameters())
    restorer = MODELS.build(dict(type='SPAIR', netl=netl, netr=dict(GUIDED, guide_channels=None),
                                 use_gt_mask=False))
    restorer.netl.load_state_dict(localizer.netl.state_dict())
    # SFM at every level but the coarsest: Net_L's level-0 width is what it expects.
    assert restorer.netr.guide_levels == (0,) and restorer.netr.guide_widths == (4,)
    restorer(**batch, mode='loss')['loss_l1'].backward()
    assert all(p.grad is None for p in restorer.netl.parameters())  # frozen Net_L
    assert all(p.grad is not None for p in restorer.netr.parameters())


def test_nafnet_alone_without_netl_is_a_restorer_of_its_own():
    """with_netl=False: no Net_L is built or run; the baseline's parameters are its own,
    it trains, predicts (pred_mask = all ones) and loads no localizer checkpoint."""
    deg, clean, mask = synthetic_pairs(2, size=15)
    torch.manual_seed(0)
    model = MODELS.build(dict(type='SPAIR', with_netl=False,
                              netr=dict(type='NAFNet', width=8, num_levels=2)))
    assert model.netl is None
    assert not any(k.startswith('netl.') for k in model.state_dict())
    model.init_weights()  # no Net_L checkpoint needed
    batch = model.data_preprocessor(make_batch(deg, clean, mask), training=True)
    model(**batch, mode='loss')['loss_l1'].backward()
    assert all(p.grad is not None for p in model.netr.parameters())
    preds = model(**batch, mode='predict')
    assert preds[0]['pred'].shape == (3, 15, 15)
    assert torch.equal(preds[0]['pred_mask'], torch.ones(1, 15, 15))


@pytest.mark.parametrize('cfg,match', [
    (dict(stage='localizer'), "stage='restorer'"),
    (dict(netl_checkpoint='x.pth'), 'netl_checkpoint'),
    (dict(output_gate=dict(type='MaskGatedBlend')), 'output_gate'),
    (dict(netr=dict(type='NAFNetR', width=8, num_levels=2, decoder_blocks=[
        dict(type='SparseConvBlock', growth=4, num_layers=2)])), 'reads a mask'),
])
def test_without_netl_refuses_what_needs_it(cfg, match):
    from spairkit.errors import ConfigError
    base = dict(type='SPAIR', with_netl=False, netr=dict(type='NAFNet', width=8, num_levels=2))
    with pytest.raises(ConfigError, match=match):
        MODELS.build({**base, **cfg})
