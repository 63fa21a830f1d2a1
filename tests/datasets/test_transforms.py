"""Paired transforms keep input/target/mask aligned; masks, packing and collate."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS

from spairkit.datasets import restoration_collate
from spairkit.datasets.transforms import (
    DeriveMask,
    PackRestorationInputs,
    PairedFlip,
    PairedRandomCrop,
    PairedRandomRotate90,
)
from spairkit.errors import ConfigError, DataError
from spairkit.registry import TRANSFORMS


def coordinate_sample(h=10, w=12):
    """img/gt/mask whose values encode their pixel position, so alignment is checkable."""
    ys, xs = np.mgrid[0:h, 0:w]
    img = np.stack([ys, xs, np.zeros_like(ys)], axis=2).astype(np.uint8)
    gt = img + np.uint8(100)
    mask = ((ys + xs) % 2).astype(np.uint8)
    return {'img': img, 'gt': gt, 'mask': mask, 'img_path': 'x.png'}


def assert_aligned(results):
    img, gt, mask = results['img'], results['gt'], results['mask']
    np.testing.assert_array_equal(gt, img + np.uint8(100))
    np.testing.assert_array_equal(mask, (img[..., 0].astype(int) + img[..., 1]) % 2)


def test_crop_takes_the_same_window_everywhere():
    np.random.seed(0)
    crop = PairedRandomCrop(size=(4, 5))
    tops_lefts = set()
    for _ in range(20):
        out = crop(coordinate_sample())
        assert out['img'].shape == (4, 5, 3) and out['mask'].shape == (4, 5)
        assert_aligned(out)
        top, left = int(out['img'][0, 0, 0]), int(out['img'][0, 0, 1])
        assert out['crop_box'] == (top, left, 4, 5)
        tops_lefts.add((top, left))
    assert len(tops_lefts) > 3  # the window really moves


def test_crop_too_small_errors_or_pads():
    with pytest.raises(DataError, match=r'x\.png is 12x10, smaller than the crop 16x16'):
        PairedRandomCrop(16)(coordinate_sample())
    out = PairedRandomCrop(16, pad=True)(coordinate_sample())
    assert out['img'].shape == (16, 16, 3) and out['mask'].shape == (16, 16)
    assert_aligned(out)
    assert PairedRandomCrop(16).min_input_size == (16, 16)
    assert PairedRandomCrop(16, pad=True).min_input_size is None


def test_flip_moves_all_keys_together():
    out = PairedFlip(horizontal=1.0, vertical=1.0)(coordinate_sample())
    assert out['flip'] == (True, True)
    assert_aligned(out)
    ref = coordinate_sample()['img']
    np.testing.assert_array_equal(out['img'], ref[::-1, ::-1])
    untouched = PairedFlip(horizontal=0.0, vertical=0.0)(coordinate_sample())
    np.testing.assert_array_equal(untouched['img'], ref)


def test_rotate_keeps_alignment_and_shape_of_non_square():
    np.random.seed(1)
    rot = PairedRandomRotate90(prob=1.0)
    for _ in range(5):
        out = rot(coordinate_sample(10, 12))
        assert out['rot90'] == 2 and out['img'].shape == (10, 12, 3)
        assert_aligned(out)
    ks = set()
    for _ in range(30):
        out = rot(coordinate_sample(8, 8))
        ks.add(out['rot90'])
        assert_aligned(out)
        np.testing.assert_array_equal(out['img'],
                                      np.rot90(coordinate_sample(8, 8)['img'], out['rot90']))
    assert ks == {1, 2, 3}


def test_derive_mask_uint8_no_wraparound():
    img = np.array([[[10, 10, 10], [200, 200, 200]]], np.uint8)
    gt = np.array([[[200, 200, 200], [10, 10, 10]]], np.uint8)
    # 10 - 200 would wrap to 66 in uint8 and stay below a 0.5 threshold (127.5).
    out = DeriveMask(threshold=0.5, on='max')({'img': img, 'gt': gt})
    np.testing.assert_array_equal(out['mask'], [[1, 1]])
    assert out['mask'].dtype == np.uint8


def test_derive_mask_max_vs_y():
    gt = np.full((1, 2, 3), 100, np.uint8)
    img = gt.copy()
    img[0, 0] = (160, 100, 100)   # red +60: max diff 60, luma diff 0.299*60 ~ 18
    img[0, 1] = (150, 150, 150)   # grey +50: both 50
    thr = 30 / 255
    np.testing.assert_array_equal(DeriveMask(thr, on='max')({'img': img, 'gt': gt})['mask'],
                                  [[1, 1]])
    np.testing.assert_array_equal(DeriveMask(thr, on='y')({'img': img, 'gt': gt})['mask'],
                                  [[0, 1]])


def test_derive_mask_16_bit_uses_fraction_of_range():
    gt = np.zeros((1, 2, 3), np.uint16)
    img = gt.copy()
    img[0, 0] = 3000   # 4.6 % of 65535
    img[0, 1] = 9000   # 13.7 %
    np.testing.assert_array_equal(DeriveMask(0.1, 'max')({'img': img, 'gt': gt})['mask'], [[0, 1]])


def test_derive_mask_morphology_and_ground_truth_kept():
    gt = np.zeros((7, 7, 3), np.uint8)
    img = gt.copy()
    img[3, 3] = 255
    dilated = DeriveMask(0.1, 'max', morphology=dict(op='dilate', kernel=3))({'img': img, 'gt': gt})
    expected = np.zeros((7, 7), np.uint8)
    expected[2:5, 2:5] = 1
    np.testing.assert_array_equal(dilated['mask'], expected)
    opened = DeriveMask(0.1, 'max', morphology=dict(op='open', kernel=3))({'img': img, 'gt': gt})
    assert opened['mask'].sum() == 0  # a single pixel does not survive an opening
    gt_mask = np.ones((7, 7), np.uint8)
    kept = DeriveMask(0.1, 'max')({'img': img, 'gt': gt, 'mask': gt_mask})
    assert kept['mask'] is gt_mask
    replaced = DeriveMask(0.1, 'max', overwrite=True)({'img': img, 'gt': gt, 'mask': gt_mask})
    assert replaced['mask'].sum() == 1


def test_derive_mask_uses_the_samples_task_rule():
    """Without threshold/on, DeriveMask applies the rule of the sample's task: rain
    streaks mark luma changes above 6%, so a pure red shift is clean there."""
    from spairkit.tasks import get_task

    rule = get_task('rain_streak').mask_rule()
    assert rule == dict(threshold=0.06, on='y')
    gt = np.full((1, 2, 3), 100, np.uint8)
    img = gt.copy()
    img[0, 0] = (140, 100, 100)   # red +40 (15.7% max, 4.7% luma)
    img[0, 1] = (120, 120, 120)   # grey +20 (7.8% on both)
    out = DeriveMask()({'img': img, 'gt': gt, 'task': 'rain_streak'})
    np.testing.assert_array_equal(out['mask'], [[0, 1]])
    shadow = get_task('shadow').mask_rule()   # 'max' at 5%: both pixels count
    assert shadow['on'] == 'max'
    np.testing.assert_array_equal(DeriveMask()({'img': img, 'gt': gt, 'task': 'shadow'})['mask'],
                                  [[1, 1]])
    with pytest.raises(DataError, match='names no task'):
        DeriveMask()({'img': img, 'gt': gt})


@pytest.mark.parametrize('kwargs', [dict(threshold=1.5, on='max'), dict(threshold=0.1, on='lab'),
                                    dict(threshold=0.1),
                                    dict(morphology=dict(op='blur')),
                                    dict(morphology=dict(op='dilate', size=3))])
def test_derive_mask_bad_config(kwargs):
    with pytest.raises(ConfigError, match='DeriveMask'):
        DeriveMask(**kwargs)


def test_pack_shapes_types_and_metainfo():
    res = coordinate_sample(4, 6)
    res.update(gt_path='y.png', task='rain_streak')
    packed = PackRestorationInputs()(res)
    assert packed['inputs'].shape == (3, 4, 6) and packed['inputs'].dtype == torch.uint8
    np.testing.assert_array_equal(packed['inputs'][1].numpy(), res['img'][..., 1])
    samples = packed['data_samples']
    assert samples['gt'].shape == (3, 4, 6)
    assert samples['mask'].shape == (1, 4, 6) and samples['mask'].dtype == torch.float32
    assert samples['metainfo'] == {'img_path': 'x.png', 'gt_path': 'y.png',
                                   'task': 'rain_streak', 'ori_shape': (4, 6),
                                   'max_value': 255}
    deep = {'img': np.zeros((2, 2, 3), np.uint16), 'gt': np.zeros((2, 2, 3), np.uint16)}
    packed16 = PackRestorationInputs()(deep)
    assert packed16['inputs'].dtype == torch.uint16
    assert packed16['data_samples']['metainfo']['max_value'] == 65535
    assert 'mask' not in packed16['data_samples']


def test_collate_lists_and_registry_names():
    samples = [PackRestorationInputs()(coordinate_sample(4, 4)),
               PackRestorationInputs()(coordinate_sample(6, 5))]
    batch = restoration_collate(samples)
    assert [t.shape for t in batch['inputs']] == [(3, 4, 4), (3, 6, 5)]
    assert batch['data_samples'][1]['metainfo']['ori_shape'] == (6, 5)
    # A plain MMEngine runner resolves the scoped name through its root registry.
    assert MMENGINE_FUNCTIONS.get('spairkit.restoration_collate') is restoration_collate
    with pytest.raises(ValueError, match='PackRestorationInputs'):
        restoration_collate([{'img': 1}])


def test_transforms_build_from_registry():
    crop = TRANSFORMS.build(dict(type='PairedRandomCrop', size=3))
    assert isinstance(crop, PairedRandomCrop) and crop.size == (3, 3)
