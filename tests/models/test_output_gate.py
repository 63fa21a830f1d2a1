"""MaskGatedBlend: clean pixels outside the (dilated) mask are returned unchanged."""
from __future__ import annotations

import pytest
import torch

from spairkit.errors import ConfigError
from spairkit.registry import MODELS

from .helpers import random_mask


def test_gate_keeps_clean_pixels_and_takes_restored_inside():
    g = torch.Generator().manual_seed(0)
    x, r = torch.rand(3, 3, 9, 11, generator=g), torch.rand(3, 3, 9, 11, generator=g)
    mask = random_mask(3, 9, 11, p=0.2)
    mask[1] = 0  # an image without degraded pixels
    mask[2] = 1  # an image degraded everywhere
    out = MODELS.build(dict(type='MaskGatedBlend', dilation=0))(x, r, mask)
    m = mask.expand_as(x) > 0.5
    assert torch.equal(out[m], r[m]) and torch.equal(out[~m], x[~m])
    assert torch.equal(out[1], x[1]) and torch.equal(out[2], r[2])


def test_dilation_and_feather_widen_and_soften_the_gate():
    mask = torch.zeros(1, 1, 9, 9)
    mask[0, 0, 4, 4] = 1
    gate = MODELS.build(dict(type='MaskGatedBlend', dilation=1)).gate(mask)
    assert gate.sum() == 9 and gate[0, 0, 3:6, 3:6].eq(1).all()
    soft = MODELS.build(dict(type='MaskGatedBlend', dilation=1, feather=1)).gate(mask)
    assert soft.max() == 1 and 0 < soft[0, 0, 2, 4] < 1 and soft[0, 0, 0, 0] == 0
    x, r = torch.zeros(1, 3, 9, 9), torch.ones(1, 3, 9, 9)
    out = MODELS.build(dict(type='MaskGatedBlend', dilation=1, feather=1))(x, r, mask)
    assert torch.allclose(out, soft.expand_as(out))


def test_gate_is_differentiable_in_the_restored_image_only_inside():
    x = torch.rand(1, 3, 6, 6)
    r = torch.rand(1, 3, 6, 6, requires_grad=True)
    mask = torch.zeros(1, 1, 6, 6)
    mask[..., :2, :] = 1
    MODELS.build(dict(type='MaskGatedBlend', dilation=0))(x, r, mask).sum().backward()
    assert r.grad[..., :2, :].eq(1).all() and r.grad[..., 2:, :].eq(0).all()


@pytest.mark.parametrize('cfg', [dict(dilation=-1), dict(feather=1.5), dict(dilation=True)])
def test_bad_gate_arguments(cfg):
    with pytest.raises(ConfigError, match='MaskGatedBlend'):
        MODELS.build(dict(type='MaskGatedBlend', **cfg))


def test_gate_rejects_a_mask_of_another_size():
    with pytest.raises(ValueError, match='does not match'):
        MODELS.build(dict(type='MaskGatedBlend'))(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4),
                                                  torch.zeros(1, 1, 4, 5))


def test_spair_output_gate_returns_clean_pixels_unchanged():
    from .helpers import TINY_NETL, TINY_NETR, make_batch, synthetic_pairs

    deg, clean, mask = synthetic_pairs(2, size=16)
    torch.manual_seed(0)
    model = MODELS.build(dict(type='SPAIR', netl=TINY_NETL, netr=TINY_NETR, use_gt_mask=True,
                              output_gate=dict(type='MaskGatedBlend', dilation=0)))
    batch = model.data_preprocessor(make_batch(deg, clean, mask), training=True)
    out = model(**batch, mode='tensor')
    inputs = batch['inputs']
    m = torch.stack([s['mask'] for s in batch['data_samples']]).expand_as(out) > 0.5
    assert torch.equal(out[~m], inputs[~m]) and not torch.equal(out[m], inputs[m])
    assert model(**batch, mode='loss')['loss_l1'].requires_grad
