"""ISTD Lab error: hand-checked regions, the mask resize rule, and the PI/PP summaries."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2lab

from spairkit.evaluation import aggregate_scores, lab_error


def test_regions_without_resize_are_hand_computed():
    ref = np.full((6, 8, 3), 120, np.uint8)
    img = ref.copy()
    mask = np.zeros((6, 8), np.uint8)
    mask[:, :2] = 1  # 12 shadow pixels, 36 non-shadow
    img[:, :2] = (200, 50, 90)
    per_pixel = np.abs(rgb2lab(np.array([[[200, 50, 90]]]) / 255.0)
                       - rgb2lab(np.array([[[120, 120, 120]]]) / 255.0)).sum()
    out = lab_error(img, ref, mask, size=None)
    assert out['Lab_shadow'] == pytest.approx(per_pixel)
    assert out['Lab_nonshadow'] == 0.0
    assert out['Lab_all'] == pytest.approx(per_pixel * 12 / 48)
    assert out['Lab_shadow@count'] == 12 and out['Lab_all@count'] == 48


def test_resize_to_256_and_the_shadow_rule():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    mask = np.zeros((48, 64), np.uint8)
    mask[10:20, 10:30] = 255
    out = lab_error(ref, ref, mask)
    assert out['Lab_all'] == 0.0 and out['Lab_all@count'] == 256 * 256
    # The bicubic-resized mask is marked shadow wherever it is not 0 after 8-bit
    # rounding, so the shadow area grows a little beyond the scaled rectangle.
    scaled_area = (10 / 48) * (20 / 64) * 256 * 256
    assert scaled_area < out['Lab_shadow@count'] < 1.3 * scaled_area


def test_empty_region_is_nan_and_skipped_in_summaries():
    ref = np.full((8, 8, 3), 60, np.uint8)
    img = ref + 10
    no_shadow = lab_error(img, ref, np.zeros((8, 8)), size=None)
    assert np.isnan(no_shadow['Lab_shadow'])
    mask = np.zeros((8, 8))
    mask[:4] = 1
    half = lab_error(img, ref, mask, size=None)
    summary = aggregate_scores([no_shadow, half])
    assert summary['Lab_shadow'] == pytest.approx(half['Lab_shadow'])
    # Per-pixel pooling weighs images by their pixel counts.
    assert summary['Lab_shadow_pp'] == pytest.approx(half['Lab_shadow'])
    assert summary['Lab_all_pp'] == pytest.approx(half['Lab_all'])


def test_mask_size_must_match():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match='shadow mask shape'):
        lab_error(img, img, np.zeros((4, 4)))
