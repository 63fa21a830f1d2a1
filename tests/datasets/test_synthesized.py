"""SynthesizedPairDataset: deterministic per-sample pairs from bundled or given photos."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from spairkit.datasets import (
    SKIMAGE_HELDOUT_PHOTOS,
    SKIMAGE_TRAIN_PHOTOS,
    SynthesizedPairDataset,
    load_skimage_photo,
    restoration_collate,
)
from spairkit.degradations import Degradation
from spairkit.errors import ConfigError, DataError, UnknownComponentError
from spairkit.registry import DEGRADATIONS

from .conftest import rgb, write_rgb


@DEGRADATIONS.register_module(name='_DatasetTestSpots', force=True)
class Spots(Degradation):
    """Brightens a few random pixels: enough randomness to tell samples apart."""

    default_mask_threshold = 0.05

    def apply(self, image, rng):
        out = image.copy()
        h, w = image.shape[:2]
        ys = rng.integers(0, h, 6)
        xs = rng.integers(0, w, 6)
        out[ys, xs] = 1.0
        return out, None


SPOTS = dict(type='_DatasetTestSpots')
PACK = [dict(type='PackRestorationInputs')]


def sample_arrays(ds, i):
    info = ds.get_data_info(i)
    return info['img'], info['gt'], info['mask']


def test_same_seed_same_data_any_order():
    a = SynthesizedPairDataset(SPOTS, task='t', num_samples=6, seed=3, patch_size=16)
    b = SynthesizedPairDataset(SPOTS, task='t', num_samples=6, seed=3, patch_size=16)
    for i in reversed(range(6)):
        for x, y in zip(sample_arrays(a, i), sample_arrays(b, i)):
            np.testing.assert_array_equal(x, y)
    img0, gt0, _ = sample_arrays(a, 0)
    img1, gt1, _ = sample_arrays(a, 1)
    assert not np.array_equal(gt0, gt1)  # different crops (or photos)
    c = SynthesizedPairDataset(SPOTS, num_samples=6, seed=4, patch_size=16)
    assert not np.array_equal(sample_arrays(c, 0)[1], gt0)


def test_sample_content_is_a_degraded_crop_with_its_mask():
    ds = SynthesizedPairDataset(SPOTS, task='rain_streak', num_samples=3, seed=0,
                                patch_size=(12, 20))
    img, gt, mask = sample_arrays(ds, 2)
    assert img.shape == gt.shape == (12, 20, 3) and mask.shape == (12, 20)
    assert img.dtype == np.uint8 and mask.dtype == np.uint8
    changed = np.abs(img.astype(int) - gt.astype(int)).max(axis=2) > 0.05 * 255
    np.testing.assert_array_equal(mask.astype(bool), changed)
    info = ds.get_data_info(2)
    assert info['task'] == 'rain_streak' and info['img_path'].endswith('#000002')
    assert info['gt_path'] in SKIMAGE_TRAIN_PHOTOS


def test_heldout_photos_are_never_training_photos():
    assert not set(SKIMAGE_TRAIN_PHOTOS) & set(SKIMAGE_HELDOUT_PHOTOS)
    ds = SynthesizedPairDataset(SPOTS, num_samples=8, seed=0, patch_size=8, split='heldout')
    used = {ds.get_data_info(i)['gt_path'] for i in range(8)}
    assert used <= set(SKIMAGE_HELDOUT_PHOTOS)
    for name in SKIMAGE_TRAIN_PHOTOS + SKIMAGE_HELDOUT_PHOTOS:
        photo = load_skimage_photo(name)
        assert photo.dtype == np.uint8 and photo.ndim == 3 and min(photo.shape[:2]) >= 256


def test_independent_of_worker_count():
    ds = SynthesizedPairDataset(SPOTS, task='t', num_samples=6, seed=1, patch_size=16,
                                pipeline=PACK)

    def collect(workers):
        loader = DataLoader(ds, batch_size=2, num_workers=workers, shuffle=False,
                            collate_fn=restoration_collate)
        return [t for batch in loader for t in batch['inputs']]

    for x, y in zip(collect(0), collect(2)):
        assert torch.equal(x, y)


def test_clean_dir_source(tmp_path):
    write_rgb(tmp_path / 'a.png', rgb(20, 20, seed=1))
    write_rgb(tmp_path / 'b.png', rgb(20, 20, seed=2))
    ds = SynthesizedPairDataset(SPOTS, num_samples=4, seed=0, patch_size=None,
                                clean_dir=str(tmp_path), pipeline=PACK)
    sample = ds[0]
    src = ds.get_data_info(0)['gt_path']
    expected = rgb(20, 20, seed=1 if src.endswith('a.png') else 2)
    np.testing.assert_array_equal(sample['data_samples']['gt'].permute(1, 2, 0).numpy(),
                                  expected)
    assert sample['data_samples']['mask'].shape == (1, 20, 20)


def test_errors_name_the_problem(tmp_path):
    write_rgb(tmp_path / 'small.png', rgb(8, 8))
    ds = SynthesizedPairDataset(SPOTS, num_samples=1, patch_size=16, clean_dir=str(tmp_path))
    with pytest.raises(DataError, match=r'small\.png is 8x8, smaller than patch_size 16x16'):
        ds.get_data_info(0)
    with pytest.raises(DataError, match='clean_dir not found'):
        SynthesizedPairDataset(SPOTS, clean_dir=str(tmp_path / 'nope'))
    with pytest.raises(ConfigError, match='split'):
        SynthesizedPairDataset(SPOTS, split='val')
    with pytest.raises(ConfigError, match='num_samples'):
        SynthesizedPairDataset(SPOTS, num_samples=0)
    with pytest.raises(UnknownComponentError, match='DEGRADATIONS'):
        SynthesizedPairDataset(dict(type='_NoSuchDegradation'))
