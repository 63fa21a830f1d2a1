"""The four built-in synthesisers honour the contract of spairkit.degradations."""
from __future__ import annotations

import numpy as np
import pytest

from spairkit.degradations import build_degradation, difference_map
from spairkit.errors import ConfigError

from .conftest import structured_image

SYNTHESIZERS = ['RainStreakSynthesizer', 'RaindropSynthesizer', 'ShadowSynthesizer',
                'MotionBlurSynthesizer']
SEEDS = range(6)


@pytest.fixture(params=SYNTHESIZERS)
def synth(request):
    return build_degradation(dict(type=request.param))


def test_same_seed_same_pair_different_seed_different_pair(synth, clean_image):
    a = synth(clean_image, np.random.default_rng(7))
    b = synth(clean_image, np.random.default_rng(7))
    c = synth(clean_image, np.random.default_rng(8))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_output_contract(synth, clean_image):
    before = clean_image.copy()
    degraded, mask = synth(clean_image, np.random.default_rng(0))
    assert degraded.shape == clean_image.shape and degraded.dtype == np.uint8
    assert mask.shape == clean_image.shape[:2] and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 1}
    assert np.array_equal(clean_image, before)  # the clean image is left untouched


def test_mask_covers_every_pixel_changed_beyond_the_threshold(synth):
    for seed in SEEDS:
        clean = structured_image(64, 80, seed=seed)
        degraded, mask = synth(clean, np.random.default_rng(seed))
        changed = difference_map(degraded, clean, synth.mask_on) > synth.mask_threshold
        assert not (changed & (mask == 0)).any(), f'seed {seed}: change outside the mask'


def test_mask_is_neither_empty_nor_everything(synth):
    fractions = []
    for seed in SEEDS:
        clean = structured_image(64, 80, seed=seed)
        degraded, mask = synth(clean, np.random.default_rng(seed))
        fractions.append(mask.mean())
        assert mask.mean() < 0.9, f'seed {seed}: the mask marks {mask.mean():.0%} of the image'
        # Pixels outside the mask changed little: they are "clean" in the paper's sense.
        small = difference_map(degraded, clean, synth.mask_on)[mask == 0]
        assert small.size == 0 or small.max() <= synth.mask_threshold + 1e-6
    assert max(fractions) > 0.01, 'the synthesiser never degrades anything'


@pytest.mark.parametrize('shape', [(1, 1), (2, 3), (5, 1), (1, 6), (7, 9), (33, 47)])
def test_odd_and_tiny_sizes(synth, shape):
    clean = structured_image(*shape)
    degraded, mask = synth(clean, np.random.default_rng(1))
    assert degraded.shape == clean.shape and degraded.dtype == np.uint8
    assert mask.shape == shape


def test_uint16_images_keep_their_dtype(synth):
    clean = structured_image(32, 40, dtype=np.uint16)
    degraded, mask = synth(clean, np.random.default_rng(2))
    assert degraded.dtype == np.uint16 and mask.shape == (32, 40)
    assert not np.array_equal(degraded, clean) or not mask.any()


def test_mask_threshold_is_configurable(clean_image):
    loose = build_degradation(dict(type='RainStreakSynthesizer', mask_threshold=0.3))
    strict = build_degradation(dict(type='RainStreakSynthesizer', mask_threshold=0.01))
    d1, m1 = loose(clean_image, np.random.default_rng(3))
    d2, m2 = strict(clean_image, np.random.default_rng(3))
    assert np.array_equal(d1, d2)  # the threshold changes the mask, not the image
    assert m1.sum() < m2.sum()


def test_raindrop_mask_holds_whole_visible_drops_only(clean_image):
    """A drop is in the mask as a whole when it visibly changes the image, and not at
    all when it refracts a flat scene into the same colour (nothing to restore)."""
    flat = np.full_like(clean_image, 128)
    invisible = build_degradation(dict(type='RaindropSynthesizer', num_drops=(200, 200),
                                       brightness=(1.0, 1.0)))
    degraded, mask = invisible(flat, np.random.default_rng(0))
    assert (degraded.astype(int) - flat).max() <= 1 and not mask.any()
    visible = build_degradation(dict(type='RaindropSynthesizer', num_drops=(200, 200),
                                     brightness=(1.3, 1.3)))
    degraded, mask = visible(flat, np.random.default_rng(0))
    assert mask.mean() > 0.05
    # Whole drops: the footprint is marked, including rim pixels that changed by less
    # than the per-pixel threshold (8% of the range).
    changed = np.abs(degraded.astype(int) - flat).max(axis=2) > 0.08 * 255
    assert mask.sum() > changed.sum()


def test_shadow_darkens_and_shifts_colour(clean_image):
    synth = build_degradation(dict(type='ShadowSynthesizer', color_shift=(0.3, 0.3)))
    grey = np.full_like(clean_image, 200)
    degraded, mask = synth(grey, np.random.default_rng(0))
    inside = degraded[mask == 1].astype(float)
    assert (inside <= 200).all() and inside.mean() < 180
    red, _, blue = inside.mean(axis=0)
    assert red < blue  # direct (warm) light removed, skylight (blue) left


def test_motion_blur_leaves_flat_areas_clean():
    synth = build_degradation(dict(type='MotionBlurSynthesizer', static_prob=0.0))
    flat = np.full((48, 48, 3), 90, np.uint8)
    degraded, mask = synth(flat, np.random.default_rng(0))
    assert np.array_equal(degraded, flat) and not mask.any()


def test_motion_blur_blurs_edges():
    synth = build_degradation(dict(type='MotionBlurSynthesizer', static_prob=0.0,
                                   length=(0.2, 0.2)))
    edges = np.zeros((48, 48, 3), np.uint8)
    edges[::8] = 255
    edges[:, ::8] = 255
    degraded, mask = synth(edges, np.random.default_rng(0))
    assert mask.mean() > 0.3
    assert np.abs(np.diff(degraded.astype(float), axis=1)).mean() < \
        np.abs(np.diff(edges.astype(float), axis=1)).mean()


@pytest.mark.parametrize('cfg, key', [
    (dict(type='RainStreakSynthesizer', length=(0.3, 0.1)), 'length'),
    (dict(type='RainStreakSynthesizer', blend='multiply'), 'blend'),
    (dict(type='RaindropSynthesizer', num_drops=(1.5, 3)), 'num_drops'),
    (dict(type='ShadowSynthesizer', strength=(0.5, 1.5)), 'strength'),
    (dict(type='MotionBlurSynthesizer', static_prob=2), 'static_prob'),
    (dict(type='MotionBlurSynthesizer', num_regions=5), 'num_regions'),
])
def test_bad_parameters_name_the_key(cfg, key):
    with pytest.raises(ConfigError, match=key):
        build_degradation(cfg)
