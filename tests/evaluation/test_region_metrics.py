"""Region-aware PSNR/SSIM and the Fig. S4 threshold sweep, against hand-made cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import perturbed, textured

from spairkit.evaluation import (
    degradation_mask,
    psnr,
    region_psnr,
    region_ssim,
    ssim,
    threshold_sweep,
)


def test_region_psnr_is_hand_computed():
    gt = np.full((10, 10, 3), 100, np.uint8)
    img = gt.copy()
    mask = np.zeros((10, 10), bool)
    mask[:4] = True
    img[:4] = 120          # degraded region: MSE 400
    img[4:, :, 0] = 103    # clean region: MSE 9 on one channel of three -> 3
    scores = region_psnr(img, gt, mask)
    assert scores.degraded == pytest.approx(10 * math.log10(255 ** 2 / 400))
    assert scores.clean == pytest.approx(10 * math.log10(255 ** 2 / 3))
    untouched = region_psnr(gt, gt, mask)
    assert untouched.degraded == math.inf and untouched.clean == math.inf
    assert math.isnan(region_psnr(img, gt, np.zeros((10, 10), bool)).degraded)


def test_full_mask_regions_equal_the_whole_image():
    gt = textured(30, 30, seed=1)
    img = perturbed(gt, seed=2)
    full = np.ones((30, 30), bool)
    assert region_psnr(img, gt, full).degraded == pytest.approx(psnr(img, gt))
    assert region_ssim(img, gt, full).degraded == pytest.approx(ssim(img, gt))
    assert region_ssim(img, gt, full, y_channel=True).degraded == pytest.approx(
        ssim(img, gt, y_channel=True))
    assert math.isnan(region_ssim(img, gt, full).clean)


def test_region_ssim_separates_damaged_and_intact_halves():
    gt = textured(40, 40, seed=3)
    img = gt.copy()
    img[:, 20:] = perturbed(gt[:, 20:], seed=4, amplitude=40)
    mask = np.zeros((40, 40), bool)
    mask[:, 20:] = True
    scores = region_ssim(img, gt, mask)
    assert scores.degraded < 0.9
    assert scores.clean > scores.degraded
    # Clean pixels far from the damage have SSIM exactly 1.
    far = np.zeros((40, 40), bool)
    far[:, :8] = True
    assert region_ssim(img, gt, ~far).clean == pytest.approx(1.0)


def test_degradation_mask_uses_the_max_over_channels_and_peak_fraction():
    gt = np.zeros((2, 2, 3), np.uint8)
    img = gt.copy()
    img[0, 0, 2] = 30   # 30/255 = 0.118
    img[1, 1, 0] = 20   # 20/255 = 0.078
    mask = degradation_mask(img, gt, 0.1)
    assert mask.tolist() == [[True, False], [False, False]]
    assert degradation_mask(img.astype(np.uint16) * 257, gt.astype(np.uint16), 0.1).tolist() \
        == mask.tolist()
    with pytest.raises(ValueError, match='fraction'):
        degradation_mask(img, gt, 30)


def test_threshold_sweep_scores_input_and_output_on_shared_regions():
    gt = textured(32, 32, seed=5)
    rng = np.random.default_rng(6)
    streaks = rng.random((32, 32)) < 0.2
    inp = gt.copy()
    inp[streaks] = 255
    out = gt.copy()
    out[streaks] = np.clip(gt[streaks].astype(int) + 5, 0, 255).astype(np.uint8)
    out[~streaks] = perturbed(gt, seed=7, amplitude=2)[~streaks]
    points = threshold_sweep(inp, out, gt, [0.0, 0.2, 0.5])
    assert [p.threshold for p in points] == [0.0, 0.2, 0.5]
    fractions = [p.degraded_fraction for p in points]
    assert fractions == sorted(fractions, reverse=True)
    for p in points:
        mask = degradation_mask(inp, gt, p.threshold)
        assert p.output == region_psnr(out, gt, mask)
        assert p.input == region_psnr(inp, gt, mask)
    # The input is untouched off the streaks, so its clean PSNR is perfect ...
    assert points[0].input.clean == math.inf
    # ... and the restoration is far better than the input on the degraded pixels.
    assert points[1].output.degraded > points[1].input.degraded + 10
