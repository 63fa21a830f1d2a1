"""Every model registered by spairkit.models builds, runs on odd sizes and trains.

Parametrised over the registry itself: a newly registered component without a recipe
below fails ``test_every_registered_model_has_a_recipe``.
"""
from __future__ import annotations

import pytest
import torch

from spairkit.registry import MODELS

from .helpers import TINY_NETL, TINY_NETR, make_batch, random_mask, synthetic_pairs

C = 8
H, W = 11, 13  # odd, non-square

BLOCK = 'block'    # forward(x (N,C,H,W), mask) -> same shape
IMAGE = 'image'    # image-to-image networks
NET_R = 'net_r'    # forward(x, mask) -> restored image (Net_R interface, no SFM)
ENCODER = 'encoder'

RECIPES = {
    'DenseBlock': (BLOCK, dict(channels=C, growth=4, num_layers=2)),
    'SparseConvBlock': (BLOCK, dict(channels=C, growth=4, num_layers=2)),
    'SparseNonLocal': (BLOCK, dict(channels=C, qk_channels=4)),
    'NonLocal': (BLOCK, dict(channels=C, sub_sample=True)),
    'SFM': ('sfm', dict(channels=C, guide_channels=4)),
    'DenseEncoder': (ENCODER, dict(in_channels=3, channels=[4, 8, 8], growth=4,
                                   num_dense_layers=1)),
    'TimmEncoder': (ENCODER, dict(model_name='mobilenetv3_small_050', num_levels=3,
                                  stem_channels=4)),
    'DenseEncoderDecoder': (IMAGE, dict(base_channels=4, num_levels=3, growth=4,
                                        num_dense_layers=1,
                                        decoder_blocks=[dict(type='DenseBlock', growth=4,
                                                             num_layers=1)])),
    'NetL': (IMAGE, dict(TINY_NETL)),
    'NetR': (NET_R, dict(TINY_NETR, sfm=None)),
    'NAFBlock': (BLOCK, dict(channels=C)),
    'NAFNetBackbone': (IMAGE, dict(width=4, num_levels=2,
                                   decoder_blocks=[dict(type='SparseConvBlock', growth=4,
                                                        num_layers=2)])),
    'NAFNetR': (NET_R, dict(width=4, num_levels=2)),
    'NAFNet': (NET_R, dict(width=4, num_levels=2)),
    'NAFNetL': (IMAGE, dict(width=4, num_levels=2)),
    'MaskGatedBlend': ('gate', dict(dilation=1)),
    'SPAIR': ('spair', dict(netl=TINY_NETL, netr=TINY_NETR, use_gt_mask=False)),
    'RestorationDataPreprocessor': ('preprocessor', {}),
}


def spairkit_models() -> list[str]:
    MODELS.import_from_location()
    return sorted(name for name, cls in MODELS.module_dict.items()
                  if cls.__module__.startswith('spairkit.models'))


def test_every_registered_model_has_a_recipe():
    assert set(spairkit_models()) == set(RECIPES)


def _assert_grads(module: torch.nn.Module) -> None:
    trainable = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    assert trainable, 'nothing to train'
    missing = [n for n, p in trainable if p.grad is None]
    assert not missing, f'no gradient reached {missing}'
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)


def _run(name: str, mask: torch.Tensor) -> None:
    kind, kwargs = RECIPES[name]
    torch.manual_seed(0)
    model = MODELS.build({**kwargs, "type": name})
    if kind == BLOCK:
        x = torch.randn(2, C, H, W, requires_grad=True)
        out = model(x, mask)
        assert out.shape == x.shape
    elif kind == 'sfm':
        x = torch.randn(2, C, H, W)
        out = model(x, mask, torch.randn(2, 4, H, W))
        assert out.shape == x.shape
    elif kind == ENCODER:
        x = torch.rand(2, 3, 16, 24)
        feats = model(x)
        assert [tuple(f.shape[-2:]) for f in feats] == [(16, 24), (8, 12), (4, 6)]
        assert [f.shape[1] for f in feats] == list(model.channels)
        out = torch.cat([f.flatten(1) for f in feats], dim=1)
    elif kind == IMAGE:
        x = torch.rand(2, 3, H, W)
        out = model(x, mask)[0] if name == 'NAFNetBackbone' else model(x)[0]
        assert out.shape[-2:] == (H, W)
    elif kind == NET_R:
        x = torch.rand(2, 3, H, W)
        out = model(x, mask)
        assert out.shape == x.shape
    elif kind == 'gate':  # no parameters: the clean pixels far from the mask keep the input
        inputs, restored = torch.rand(2, 3, H, W), torch.rand(2, 3, H, W, requires_grad=True)
        out = model(inputs, restored, mask)
        far = torch.nn.functional.max_pool2d(mask, 3, stride=1, padding=1) == 0
        assert torch.equal(out.masked_select(far.expand_as(out)),
                           inputs.masked_select(far.expand_as(inputs)))
        assert torch.allclose(out.masked_select(mask.bool().expand_as(out)),
                              restored.masked_select(mask.bool().expand_as(out)))
        out.sum().backward()
        assert torch.isfinite(restored.grad).all()
        return
    elif kind == 'spair':
        model.train()
        x = torch.rand(2, 3, H, W)
        samples = [{'gt': torch.rand(3, H, W), 'mask': mask[i]} for i in range(2)]
        out = model(x, samples, mode='tensor')
        assert out.shape == x.shape
        preds = model(x, samples, mode='predict')
        assert preds[0]['pred'].shape == (3, H, W)
        assert preds[0]['pred_mask'].shape == (1, H, W)
    else:  # the preprocessor has no parameters: check the conversion instead
        deg, clean, m = synthetic_pairs(2, size=9)
        data = model(make_batch(deg, clean, m), training=True)
        assert data['inputs'].shape == (2, 3, 9, 9)
        assert data['inputs'].dtype == torch.float32
        return
    assert torch.isfinite(out).all()
    (out * torch.randn_like(out)).sum().backward()
    _assert_grads(model)


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_model_builds_runs_and_backprops(name):
    _run(name, random_mask(2, H, W))


@pytest.mark.parametrize('name', ['SparseConvBlock', 'SparseNonLocal', 'SFM', 'SPAIR'])
def test_empty_mask_still_reaches_every_parameter(name):
    """DDP safety: a batch without a degraded pixel must still give every weight a grad."""
    _run(name, torch.zeros(2, 1, H, W))
