"""The LOSSES components against hand-written formulas, and SPAIR's loss wiring."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from spairkit.config_validation import validate_config
from spairkit.errors import ConfigError
from spairkit.registry import LOSSES, MODELS

from .helpers import TINY_NETL, TINY_NETR, make_batch, random_mask, synthetic_pairs


def images(seed=0, shape=(2, 3, 5, 7)):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g), torch.rand(shape, generator=g)


def logits_and_target(p=0.2, seed=0, shape=(3, 1, 6, 5)):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=g) * 2
    target = (torch.rand(shape, generator=g) < p).float()
    return logits, target


@pytest.mark.parametrize('name,formula', [
    ('L1Loss', lambda d: d.abs()),
    ('MSELoss', lambda d: d * d),
    ('CharbonnierLoss', lambda d: (d * d + 1e-3 ** 2).sqrt()),
])
def test_pixel_losses_match_formula(name, formula):
    pred, target = images()
    loss = LOSSES.build(dict(type=name, loss_weight=2.0))
    assert torch.allclose(loss(pred, target), 2.0 * formula(pred - target).mean())


def test_l1_is_the_paper_default_and_matches_torch():
    pred, target = images(1)
    loss = LOSSES.build(dict(type='L1Loss'))
    assert loss.loss_name == 'loss_l1' and not loss.requires_mask
    assert torch.allclose(loss(pred, target), F.l1_loss(pred, target))


def test_region_weighted_loss_weights_each_region():
    pred, target = images(2)
    mask = random_mask(2, 5, 7, p=0.3)
    loss = LOSSES.build(dict(type='RegionWeightedPixelLoss', degraded_weight=3.0,
                             clean_weight=0.5))
    assert loss.requires_mask
    err = (pred - target).abs()
    weight = torch.where(mask.expand_as(err) > 0.5, 3.0, 0.5)
    assert torch.allclose(loss(pred, target, mask), (weight * err).mean())
    # Equal weights: the plain criterion; a zero weight ignores that region entirely.
    same = LOSSES.build(dict(type='RegionWeightedPixelLoss', criterion='mse'))
    assert torch.allclose(same(pred, target, mask), F.mse_loss(pred, target))
    clean_only = LOSSES.build(dict(type='RegionWeightedPixelLoss', degraded_weight=0.0))
    moved = pred + 10 * mask  # change only the degraded pixels
    assert torch.allclose(clean_only(moved, target, mask), clean_only(pred, target, mask))


@pytest.mark.parametrize('fill', [0.0, 1.0])
def test_region_weighted_loss_empty_and_full_masks(fill):
    pred, target = images(3)
    mask = torch.full((2, 1, 5, 7), fill)
    loss = LOSSES.build(dict(type='RegionWeightedPixelLoss', degraded_weight=4.0,
                             clean_weight=2.0))
    weight = 4.0 if fill else 2.0
    assert torch.allclose(loss(pred, target, mask), weight * (pred - target).abs().mean())


def test_region_weighted_loss_needs_a_matching_mask():
    pred, target = images()
    loss = LOSSES.build(dict(type='RegionWeightedPixelLoss'))
    with pytest.raises(ValueError, match='ground-truth mask'):
        loss(pred, target)
    with pytest.raises(ValueError, match='does not match'):
        loss(pred, target, torch.zeros(2, 1, 4, 7))


def bce_by_hand(logits, target, w=1.0):
    p = torch.sigmoid(logits)
    return -(w * target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()


def test_bce_plain_and_fixed_pos_weight():
    logits, target = logits_and_target()
    assert torch.allclose(LOSSES.build(dict(type='BCELoss'))(logits, target),
                          bce_by_hand(logits, target), atol=1e-6)
    loss = LOSSES.build(dict(type='BCELoss', pos_weight=7.5))
    assert torch.allclose(loss(logits, target), bce_by_hand(logits, target, 7.5), atol=1e-6)


def test_bce_pos_weight_from_the_batch():
    logits, target = logits_and_target(p=0.1)
    pos = target.sum().item()
    ratio = (target.numel() - pos) / pos
    loss = LOSSES.build(dict(type='BCELoss', pos_weight='batch'))
    assert loss.batch_pos_weight(target).item() == pytest.approx(ratio)
    assert torch.allclose(loss(logits, target), bce_by_hand(logits, target, ratio), atol=1e-6)
    # Clamped: a batch with one degraded pixel, and a batch with none.
    one = torch.zeros_like(target)
    one[0, 0, 0, 0] = 1
    capped = LOSSES.build(dict(type='BCELoss', pos_weight='batch', max_pos_weight=20))
    assert capped.batch_pos_weight(one).item() == 20
    assert capped.batch_pos_weight(torch.zeros_like(target)).item() == 1
    assert capped.batch_pos_weight(torch.ones_like(target)).item() == 1


def test_dice_matches_formula_and_is_zero_on_perfect_masks():
    logits, target = logits_and_target(p=0.3, seed=4)
    p = torch.sigmoid(logits)
    expected = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
    assert torch.allclose(LOSSES.build(dict(type='DiceLoss'))(logits, target), expected)
    per_image = LOSSES.build(dict(type='DiceLoss', per_image=True))
    dims = (1, 2, 3)
    dice = (2 * (p * target).sum(dims) + 1) / (p.sum(dims) + target.sum(dims) + 1)
    assert torch.allclose(per_image(logits, target), (1 - dice).mean())
    perfect = (target * 2 - 1) * 50
    assert LOSSES.build(dict(type='DiceLoss'))(perfect, target).item() < 1e-6
    empty = torch.zeros_like(target)
    assert LOSSES.build(dict(type='DiceLoss'))(empty - 50, empty).item() < 1e-6


@pytest.mark.parametrize('alpha,gamma', [(0.25, 2.0), (-1, 0.0), (0.8, 1.0)])
def test_focal_matches_formula(alpha, gamma):
    logits, target = logits_and_target(p=0.15, seed=5)
    p = torch.sigmoid(logits)
    p_t = p * target + (1 - p) * (1 - target)
    expected = -(1 - p_t) ** gamma * torch.log(p_t)
    if alpha >= 0:
        expected = expected * (alpha * target + (1 - alpha) * (1 - target))
    loss = LOSSES.build(dict(type='FocalLoss', alpha=alpha, gamma=gamma))
    assert torch.allclose(loss(logits, target), expected.mean(), atol=1e-6)


def test_sum_of_losses_adds_its_parts():
    logits, target = logits_and_target(seed=6)
    total = LOSSES.build(dict(type='SumOfLosses', loss_name='loss_mask', loss_weight=0.5,
                              losses=[dict(type='BCELoss', pos_weight='batch'),
                                      dict(type='DiceLoss', loss_weight=2.0)]))
    bce = LOSSES.build(dict(type='BCELoss', pos_weight='batch'))(logits, target)
    dice = LOSSES.build(dict(type='DiceLoss'))(logits, target)
    assert torch.allclose(total(logits, target), 0.5 * (bce + 2 * dice))
    pixel = LOSSES.build(dict(type='SumOfLosses', losses=[
        dict(type='L1Loss'), dict(type='RegionWeightedPixelLoss', clean_weight=2.0)]))
    assert pixel.requires_mask


def test_losses_have_gradients():
    logits, target = logits_and_target(seed=7)
    for cfg in [dict(type='BCELoss', pos_weight='batch'), dict(type='DiceLoss'),
                dict(type='FocalLoss')]:
        x = logits.double().requires_grad_()
        assert torch.autograd.gradcheck(lambda t, c=cfg: LOSSES.build(c)(t, target.double()),
                                        (x,))
    pred, gt = images(8)
    mask = random_mask(2, 5, 7)
    x = pred.double().requires_grad_()
    loss = LOSSES.build(dict(type='RegionWeightedPixelLoss', criterion='charbonnier',
                             clean_weight=3.0))
    assert torch.autograd.gradcheck(lambda t: loss(t, gt.double(), mask.double()), (x,))


@pytest.mark.parametrize('cfg,match', [
    (dict(type='BCELoss', pos_weight='often'), 'pos_weight'),
    (dict(type='BCELoss', pos_weight=-1.0), 'pos_weight'),
    (dict(type='BCELoss', max_pos_weight=0.5), 'max_pos_weight'),
    (dict(type='FocalLoss', alpha=2.0), 'alpha'),
    (dict(type='RegionWeightedPixelLoss', criterion='l3'), 'criterion'),
    (dict(type='RegionWeightedPixelLoss', clean_weight=-1), 'clean_weight'),
    (dict(type='L1Loss', loss_name='l1'), 'loss_name'),
    (dict(type='SumOfLosses', losses=[]), 'losses'),
])
def test_bad_loss_arguments_name_the_key(cfg, match):
    with pytest.raises(ConfigError, match=match):
        LOSSES.build(cfg)


def test_spair_defaults_are_the_papers_losses():
    deg, clean, mask = synthetic_pairs(2, size=16)
    torch.manual_seed(0)
    model = MODELS.build(dict(type='SPAIR', netl=TINY_NETL, netr=TINY_NETR, use_gt_mask=True))
    batch = model.data_preprocessor(make_batch(deg, clean, mask), training=True)
    losses = model(**batch, mode='loss')
    restored = model(**batch, mode='tensor')
    gt = torch.stack([s['gt'] for s in batch['data_samples']])
    assert list(losses) == ['loss_l1']
    assert torch.allclose(losses['loss_l1'], F.l1_loss(restored, gt))
    torch.manual_seed(0)
    loc = MODELS.build(dict(type='SPAIR', stage='localizer', netl=TINY_NETL))
    out = loc(**batch, mode='loss')
    logits = loc(**batch, mode='tensor')
    target = torch.stack([s['mask'] for s in batch['data_samples']])
    assert torch.allclose(out['loss_bce'],
                          F.binary_cross_entropy_with_logits(logits, target))


def test_spair_builds_configured_losses_and_feeds_the_mask():
    deg, clean, mask = synthetic_pairs(2, size=16)
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='SPAIR', netl=TINY_NETL, netr=TINY_NETR, use_gt_mask=True,
        pixel_loss=dict(type='RegionWeightedPixelLoss', degraded_weight=0.0)))
    batch = model.data_preprocessor(make_batch(deg, clean, mask), training=True)
    restored = model(**batch, mode='tensor')
    gt = torch.stack([s['gt'] for s in batch['data_samples']])
    m = torch.stack([s['mask'] for s in batch['data_samples']])
    expected = ((restored - gt).abs() * (1 - m)).mean()
    assert torch.allclose(model(**batch, mode='loss')['loss_region'], expected)
    loc = MODELS.build(dict(type='SPAIR', stage='localizer', netl=TINY_NETL,
                            mask_loss=dict(type='FocalLoss', gamma=0.0, alpha=-1)))
    out = loc(**batch, mode='loss')
    logits = loc(**batch, mode='tensor')
    assert torch.allclose(out['loss_focal'],
                          F.binary_cross_entropy_with_logits(logits, m), atol=1e-6)
    assert math.isfinite(out['mask_iou'].item())


def test_spair_pos_weight_shorthand_is_bce_and_cannot_be_doubled():
    loc = MODELS.build(dict(type='SPAIR', stage='localizer', netl=TINY_NETL, pos_weight=4.0))
    assert loc.mask_loss.pos_weight == 4.0
    with pytest.raises(ConfigError, match='pos_weight'):
        MODELS.build(dict(type='SPAIR', stage='localizer', netl=TINY_NETL, pos_weight=4.0,
                          mask_loss=dict(type='DiceLoss')))


def test_config_validation_checks_loss_arguments():
    good = Config(dict(model=dict(type='SPAIR', stage='localizer', mask_loss=dict(
        type='SumOfLosses', losses=[dict(type='BCELoss'), dict(type='DiceLoss')]))))
    validate_config(good)
    for bad, match in [
        (dict(type='L2Loss'), 'L2Loss'),
        (dict(type='DiceLoss', smoth=1.0), "no argument 'smoth'"),
        (dict(type='SumOfLosses', losses=[dict(type='FocalLoss', gama=2)]), 'gama'),
    ]:
        cfg = Config(dict(model=dict(type='SPAIR', stage='localizer', mask_loss=bad)))
        with pytest.raises(ConfigError, match=match):
            validate_config(cfg)
