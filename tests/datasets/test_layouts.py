"""Every on-disk layout, from tiny fixtures written here, and the bad-input policies."""
from __future__ import annotations

import os
import warnings

import cv2
import numpy as np
import pytest
import torch

from spairkit.datasets import BadSampleWarning, PairedFolderDataset, PairListDataset
from spairkit.errors import ConfigError, DataError
from spairkit.plugins.motion_blur.datasets import GoProDataset, HIDEDataset, RealBlurDataset
from spairkit.plugins.rain_streak.datasets import Rain13KDataset, Rain100Dataset, SPADataset
from spairkit.plugins.raindrop.datasets import AGANDataset
from spairkit.plugins.shadow.datasets import ISTDDataset
from spairkit.registry import DATASETS

from .conftest import make_pairs, rgb, write_rgb


def names(dataset, key='img_path'):
    return [os.path.relpath(dataset.get_data_info(i)[key], dataset.data_root)
            for i in range(len(dataset))]


def assert_pairs_match_content(dataset):
    """Pair i was written with seeds (i, 100 + i): check the loaded tensors say so."""
    for i in range(len(dataset)):
        sample = dataset[i]
        np.testing.assert_array_equal(sample['inputs'].permute(1, 2, 0).numpy(), rgb(seed=i))
        np.testing.assert_array_equal(sample['data_samples']['gt'].permute(1, 2, 0).numpy(),
                                      rgb(seed=100 + i))


def test_rain13k_input_target(tmp_path, load_and_pack):
    make_pairs(tmp_path, 'input', 'target', ['1.png', '2.png', '10.png'],
               ['1.png', '2.png', '10.png'])
    ds = Rain13KDataset(data_root=str(tmp_path), pipeline=load_and_pack)
    assert len(ds) == 3 and ds.task == 'rain_streak'
    assert names(ds) == ['input/1.png', 'input/2.png', 'input/10.png']
    assert_pairs_match_content(ds)
    sample = ds[0]
    assert sample['inputs'].dtype == torch.uint8 and sample['inputs'].shape == (3, 8, 8)
    assert sample['data_samples']['metainfo']['task'] == 'rain_streak'


def test_built_from_config_through_registry(tmp_path, load_and_pack):
    make_pairs(tmp_path, 'input', 'target', ['a.png'], ['a.png'])
    ds = DATASETS.build(dict(type='Rain13KDataset', data_root=str(tmp_path),
                             pipeline=load_and_pack))
    assert isinstance(ds, Rain13KDataset) and len(ds) == 1


@pytest.mark.parametrize('layout,inp,gt,in_names,gt_names', [
    ('flat', '.', '.', ['rain-1.png', 'rain-2.png'], ['norain-1.png', 'norain-2.png']),
    ('rainy', 'rainy', '.', ['rain-1.png', 'rain-2.png'], ['norain-1.png', 'norain-2.png']),
    ('rain_norain', 'rain', 'norain', ['rain-1.png', 'rain-2.png'],
     ['norain-1.png', 'norain-2.png']),
    ('x2', 'rain/X2', 'norain', ['norain-1x2.png', 'norain-2x2.png'],
     ['norain-1.png', 'norain-2.png']),
])
def test_rain100_layouts_detected(tmp_path, load_and_pack, layout, inp, gt, in_names, gt_names):
    make_pairs(tmp_path, inp, gt, in_names, gt_names)
    ds = Rain100Dataset(data_root=str(tmp_path), pipeline=load_and_pack)
    assert ds.layout == layout
    assert [os.path.basename(p) for p in names(ds)] == in_names
    assert_pairs_match_content(ds)


def test_rain100_unpaired_rain_file(tmp_path):
    make_pairs(tmp_path, '.', '.', ['rain-1.png', 'rain-7.png'], ['norain-1.png'])
    with pytest.raises(DataError, match=r'1 unpaired .*rain-7\.png \(no target .*norain-7'):
        Rain100Dataset(data_root=str(tmp_path))


def test_spa_list_file(tmp_path, load_and_pack):
    make_pairs(tmp_path, 'real_world/000', 'real_world_gt/000', ['000_0.png', '000_1.png'],
               ['000_0.png', '000_1.png'])
    (tmp_path / 'real_world.txt').write_text(
        '/real_world/000/000_0.png /real_world_gt/000/000_0.png\n'
        '/real_world/000/000_1.png /real_world_gt/000/000_1.png\n')
    ds = SPADataset(data_root=str(tmp_path), pipeline=load_and_pack)
    assert names(ds) == ['real_world/000/000_0.png', 'real_world/000/000_1.png']
    assert_pairs_match_content(ds)


def test_agan_png_and_jpg(tmp_path, load_and_pack):
    make_pairs(tmp_path, 'data', 'gt', ['0_rain.png', '1_rain.png'],
               ['0_clean.png', '1_clean.png'])
    write_rgb(tmp_path / 'data' / '2_rain.jpg', rgb(8, 8, seed=2))
    write_rgb(tmp_path / 'gt' / '2_clean.jpg', rgb(8, 8, seed=102))
    ds = AGANDataset(data_root=str(tmp_path), pipeline=load_and_pack)
    assert ds.task == 'raindrop'
    assert names(ds, 'gt_path') == ['gt/0_clean.png', 'gt/1_clean.png', 'gt/2_clean.jpg']
    for i in range(2):  # PNG pairs are lossless; the JPEG pair only loads
        np.testing.assert_array_equal(ds[i]['inputs'].permute(1, 2, 0).numpy(), rgb(seed=i))
    assert ds[2]['inputs'].shape == (3, 8, 8)


def test_istd_reads_mask_from_b_folder(tmp_path, load_and_pack):
    make_pairs(tmp_path, 'test_A', 'test_C', ['90-1.png', '90-2.png'], ['90-1.png', '90-2.png'])
    mask = np.zeros((8, 8), np.uint8)
    mask[2:5, 3:6] = 255
    os.makedirs(tmp_path / 'test_B')
    for n in ('90-1.png', '90-2.png'):
        cv2.imwrite(str(tmp_path / 'test_B' / n), mask)
    ds = ISTDDataset(data_root=str(tmp_path), split='test', pipeline=load_and_pack)
    assert ds.task == 'shadow' and len(ds) == 2
    packed = ds[0]['data_samples']
    assert packed['mask'].dtype == torch.float32 and packed['mask'].shape == (1, 8, 8)
    np.testing.assert_array_equal(packed['mask'][0].numpy(), (mask > 0).astype(np.float32))
    assert packed['metainfo']['mask_path'].endswith(os.path.join('test_B', '90-1.png'))


def test_istd_missing_mask_is_unpaired(tmp_path):
    make_pairs(tmp_path, 'train_A', 'train_C', ['1.png'], ['1.png'])
    os.makedirs(tmp_path / 'train_B')
    with pytest.raises(DataError, match=r'train_A/1\.png \(no mask .*train_B/1'):
        ISTDDataset(data_root=str(tmp_path))


def test_gopro_sequences(tmp_path, load_and_pack):
    make_pairs(tmp_path, 'train/GOPR0372_07_00/blur', 'train/GOPR0372_07_00/sharp',
               ['000047.png', '000048.png'], ['000047.png', '000048.png'])
    write_rgb(tmp_path / 'train/GOPR0384_11_01/blur/000001.png', rgb(seed=2))
    write_rgb(tmp_path / 'train/GOPR0384_11_01/sharp/000001.png', rgb(seed=102))
    ds = GoProDataset(data_root=str(tmp_path), split='train', pipeline=load_and_pack)
    assert ds.task == 'motion_blur'
    assert [ds.get_data_info(i)['key'] for i in range(3)] == [
        'GOPR0372_07_00/000047', 'GOPR0372_07_00/000048', 'GOPR0384_11_01/000001']
    assert_pairs_match_content(ds)


def test_gopro_missing_sharp_folder_and_split(tmp_path):
    write_rgb(tmp_path / 'test/SEQ/blur/1.png', rgb())
    with pytest.raises(DataError, match=r'folder not found: .*SEQ/sharp'):
        GoProDataset(data_root=str(tmp_path), split='test')
    with pytest.raises(DataError, match=r'GoPro split folder not found: .*train'):
        GoProDataset(data_root=str(tmp_path), split='train')


def test_hide_and_realblur_folders(tmp_path, load_and_pack):
    make_pairs(tmp_path, 'input', 'target', ['a.png', 'b.png'], ['a.png', 'b.png'])
    for cls in (HIDEDataset, RealBlurDataset):
        ds = cls(data_root=str(tmp_path), pipeline=load_and_pack)
        assert names(ds) == ['input/a.png', 'input/b.png']
        assert_pairs_match_content(ds)


def test_realblur_list_has_gt_first(tmp_path, load_and_pack):
    make_pairs(tmp_path, 'RealBlur-J/scene001/blur', 'RealBlur-J/scene001/gt',
               ['blur_1.png'], ['gt_1.png'])
    (tmp_path / 'RealBlur_J_test_list.txt').write_text(
        'RealBlur-J/scene001/gt/gt_1.png RealBlur-J/scene001/blur/blur_1.png\n')
    ds = RealBlurDataset(data_root=str(tmp_path), ann_file='RealBlur_J_test_list.txt',
                         pipeline=load_and_pack)
    assert names(ds) == ['RealBlur-J/scene001/blur/blur_1.png']
    assert_pairs_match_content(ds)


def test_generic_folder_templates_and_mask(tmp_path, load_and_pack):
    make_pairs(tmp_path, 'deg', 'ref', ['3_in.png', '4_in.png'], ['3_out.png', '4_out.png'])
    os.makedirs(tmp_path / 'm')
    for n in ('3.png', '4.png'):
        cv2.imwrite(str(tmp_path / 'm' / n), np.ones((8, 8), np.uint8))
    ds = PairedFolderDataset(data_root=str(tmp_path), input_dir='deg', target_dir='ref',
                             mask_dir='m', input_template='{stem}_in.png',
                             target_template='{stem}_out.png', task='custom',
                             pipeline=load_and_pack)
    assert [ds.get_data_info(i)['key'] for i in range(2)] == ['3', '4']
    assert_pairs_match_content(ds)
    assert float(ds[1]['data_samples']['mask'].mean()) == 1.0


def test_pair_list_dataset_with_mask_column(tmp_path, load_and_pack):
    make_pairs(tmp_path, 'i', 't', ['1.png'], ['1.png'])
    os.makedirs(tmp_path / 'm')
    cv2.imwrite(str(tmp_path / 'm' / '1.png'), np.zeros((8, 8), np.uint8))
    (tmp_path / 'l.txt').write_text('i/1.png t/1.png m/1.png\n')
    ds = PairListDataset(ann_file='l.txt', data_root=str(tmp_path),
                         columns=('input', 'target', 'mask'), pipeline=load_and_pack)
    assert float(ds[0]['data_samples']['mask'].sum()) == 0.0


# -- bad input ---------------------------------------------------------------------------

def test_missing_folder_error(tmp_path):
    with pytest.raises(DataError, match=r'dataset folder not found: .*input'):
        Rain13KDataset(data_root=str(tmp_path / 'nope'))


def test_empty_dataset_error(tmp_path):
    os.makedirs(tmp_path / 'input')
    os.makedirs(tmp_path / 'target')
    with pytest.raises(DataError, match='found no image pairs'):
        Rain13KDataset(data_root=str(tmp_path))


def test_size_mismatch_raised_at_load_naming_both(tmp_path, load_and_pack):
    write_rgb(tmp_path / 'input/a.png', rgb(8, 8))
    write_rgb(tmp_path / 'target/a.png', rgb(8, 10))
    ds = Rain13KDataset(data_root=str(tmp_path), pipeline=load_and_pack)
    with pytest.raises(DataError, match=r'size mismatch: input .*input/a\.png.*target/a\.png'):
        ds[0]


def _bad_folder(tmp_path):
    """Three pairs: a good one, a size-mismatched one, a corrupt one (all 16x16)."""
    make_pairs(tmp_path, 'input', 'target', ['good.png'], ['good.png'], h=16, w=16)
    write_rgb(tmp_path / 'input/mismatch.png', rgb(16, 16))
    write_rgb(tmp_path / 'target/mismatch.png', rgb(16, 12))
    (tmp_path / 'input/corrupt.png').write_bytes(b'not an image')
    write_rgb(tmp_path / 'target/corrupt.png', rgb(16, 16))


def test_check_files_raise_names_file(tmp_path):
    _bad_folder(tmp_path)
    with pytest.raises(DataError, match=r'corrupt.*input/corrupt\.png'):
        Rain13KDataset(data_root=str(tmp_path), check_files=True)


def test_check_files_skip_counts_and_warns_once_per_file(tmp_path, load_and_pack):
    _bad_folder(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        ds = Rain13KDataset(data_root=str(tmp_path), check_files=True, on_bad_sample='skip',
                            pipeline=load_and_pack)
    assert len(ds) == 1 and names(ds) == ['input/good.png']
    assert sorted(os.path.basename(p) for p, _ in ds.skipped) == ['corrupt.png', 'mismatch.png']
    bad = [str(w.message) for w in caught if issubclass(w.category, BadSampleWarning)]
    assert len(bad) == 2 and any('mismatch.png' in m for m in bad)


def test_check_files_rejects_images_smaller_than_crop(tmp_path, load_and_pack):
    make_pairs(tmp_path, 'input', 'target', ['big.png'], ['big.png'], h=16, w=16)
    make_pairs(tmp_path / 'x', 'input', 'target', ['small.png'], ['small.png'], h=8, w=8)
    os.replace(tmp_path / 'x/input/small.png', tmp_path / 'input/small.png')
    os.replace(tmp_path / 'x/target/small.png', tmp_path / 'target/small.png')
    pipeline = [dict(type='LoadPairFromFile'), dict(type='PairedRandomCrop', size=12),
                dict(type='PackRestorationInputs')]
    with pytest.raises(DataError, match=r'input/small\.png is 8x8, smaller than the crop 12x12'):
        Rain13KDataset(data_root=str(tmp_path), check_files=True, pipeline=pipeline)
    with pytest.warns(BadSampleWarning, match='small.png'):
        ds = Rain13KDataset(data_root=str(tmp_path), check_files=True, on_bad_sample='skip',
                            pipeline=pipeline)
    assert names(ds) == ['input/big.png'] and ds[0]['inputs'].shape == (3, 12, 12)


def test_skip_at_load_serves_another_sample_in_training(tmp_path, load_and_pack):
    _bad_folder(tmp_path)
    ds = Rain13KDataset(data_root=str(tmp_path), on_bad_sample='skip', pipeline=load_and_pack)
    order = names(ds)
    np.random.seed(0)  # BaseDataset picks the replacement sample with NumPy's generator
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        sample = ds[order.index('input/corrupt.png')]
    messages = [str(w.message) for w in caught if issubclass(w.category, BadSampleWarning)]
    assert 'corrupt.png' in messages[0]
    assert sample['data_samples']['metainfo']['img_path'].endswith('good.png')
    assert ds.num_skipped_at_load >= 1
    ds_test = Rain13KDataset(data_root=str(tmp_path), on_bad_sample='skip', test_mode=True,
                             pipeline=load_and_pack)
    with pytest.raises(DataError, match='corrupt.png'):
        ds_test[order.index('input/corrupt.png')]


def test_bad_policy_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match='on_bad_sample'):
        Rain13KDataset(data_root=str(tmp_path), on_bad_sample='ignore')
