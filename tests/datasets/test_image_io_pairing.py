"""Image reading (colour order, depth, channels, bad files) and name-based pairing."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from spairkit.datasets import FilenameTemplate, load_pair, read_image, read_mask
from spairkit.datasets.pairing import natural_key, pair_by_template, read_pair_list
from spairkit.errors import ConfigError, DataError

from .conftest import rgb, write_rgb


def test_read_image_converts_bgr_to_rgb(tmp_path):
    img = rgb(4, 5, seed=1)
    path = write_rgb(tmp_path / 'a.png', img)
    out = read_image(path)
    assert out.dtype == np.uint8 and out.shape == (4, 5, 3)
    np.testing.assert_array_equal(out, img)


def test_read_image_grayscale_becomes_three_channels(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = str(tmp_path / 'g.png')
    cv2.imwrite(path, gray)
    out = read_image(path)
    assert out.shape == (3, 4, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], gray)


def test_read_image_keeps_16_bit(tmp_path):
    img = rgb(4, 4, seed=2, dtype=np.uint16)
    path = write_rgb(tmp_path / 'deep.png', img)
    out = read_image(path)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, img)


def test_read_image_alpha_dropped_or_rejected(tmp_path):
    bgra = np.zeros((3, 3, 4), np.uint8)
    bgra[..., 0] = 10  # blue
    bgra[..., 2] = 200  # red
    bgra[..., 3] = 7
    path = str(tmp_path / 'rgba.png')
    cv2.imwrite(path, bgra)
    out = read_image(path)
    assert out.shape == (3, 3, 3)
    assert (out[..., 0] == 200).all() and (out[..., 2] == 10).all()
    with pytest.raises(DataError, match='alpha channel.*rgba.png'):
        read_image(path, alpha='error')


def test_bad_files_name_the_path(tmp_path):
    with pytest.raises(DataError, match=r'not found: .*missing\.png'):
        read_image(str(tmp_path / 'missing.png'))
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    with pytest.raises(DataError, match=r'empty .*empty\.png'):
        read_image(str(empty))
    corrupt = tmp_path / 'corrupt.png'
    corrupt.write_bytes(b'\x89PNG\r\n\x1a\nthis is not a png')
    with pytest.raises(DataError, match=r'corrupt.*corrupt\.png'):
        read_image(str(corrupt))


def test_read_mask_binarises_255_and_keeps_01(tmp_path):
    m255 = np.array([[0, 255], [255, 0]], np.uint8)
    m01 = np.array([[0, 1], [1, 1]], np.uint8)
    cv2.imwrite(str(tmp_path / 'a.png'), m255)
    cv2.imwrite(str(tmp_path / 'b.png'), m01)
    np.testing.assert_array_equal(read_mask(str(tmp_path / 'a.png')), m255 // 255)
    np.testing.assert_array_equal(read_mask(str(tmp_path / 'b.png')), m01)


def test_load_pair_size_mismatch_names_both_files(tmp_path):
    a = write_rgb(tmp_path / 'in' / 'x.png', rgb(8, 8))
    b = write_rgb(tmp_path / 'gt' / 'x.png', rgb(8, 6))
    with pytest.raises(DataError, match=r'size mismatch: input .*in/x\.png.*target .*gt/x\.png'):
        load_pair(a, b)


def test_template_extracts_stem_and_ext():
    tpl = FilenameTemplate('{stem}_rain{ext}')
    assert tpl.stem_of('12_rain.png') == '12'
    assert tpl.stem_of('12_rain.JPG') == '12'
    assert tpl.stem_of('12_clean.png') is None
    assert tpl.stem_of('12_rain.txt') is None
    assert FilenameTemplate('rain-{stem}.png').stem_of('norain-1.png') is None
    assert FilenameTemplate('norain-{stem}x2{ext}').stem_of('norain-10x2.png') == '10'


@pytest.mark.parametrize('bad', ['{name}.png', 'rain.png', '{stem}{stem}.png', 'a/{stem}.png'])
def test_bad_template_is_config_error(bad):
    with pytest.raises(ConfigError, match='template'):
        FilenameTemplate(bad)


def test_natural_order_not_lexicographic():
    assert sorted(['10', '2', '1'], key=natural_key) == ['1', '2', '10']


def _touch_images(folder, names):
    for i, name in enumerate(names):
        write_rgb(os.path.join(str(folder), name), rgb(4, 4, seed=i))


def test_pairing_is_by_name_not_by_sorted_position(tmp_path):
    # Sorted listings would pair 1_rain with 10_clean and 10_rain with 2_clean.
    _touch_images(tmp_path / 'data', ['1_rain.png', '10_rain.png', '2_rain.png'])
    _touch_images(tmp_path / 'gt', ['2_clean.png', '1_clean.jpg', '10_clean.png'])
    pairs = pair_by_template({'img_path': ('data', '{stem}_rain{ext}'),
                              'gt_path': ('gt', '{stem}_clean{ext}')}, data_root=str(tmp_path))
    assert [p['key'] for p in pairs] == ['1', '2', '10']
    for p in pairs:
        stem = p['key']
        assert os.path.basename(p['img_path']) == f'{stem}_rain.png'
        assert os.path.basename(p['gt_path']).startswith(f'{stem}_clean.')


def test_unpaired_files_are_listed_with_count(tmp_path):
    _touch_images(tmp_path / 'input', [f'{i}.png' for i in range(9)])
    _touch_images(tmp_path / 'target', ['0.png', '1.png', 'extra.png'])
    with pytest.raises(DataError) as err:
        pair_by_template({'img_path': ('input', '{stem}{ext}'),
                          'gt_path': ('target', '{stem}{ext}')}, data_root=str(tmp_path))
    msg = str(err.value)
    assert msg.startswith(f'8 unpaired file(s) under {tmp_path}')
    assert os.path.join(str(tmp_path), 'input', '2.png') in msg
    assert 'no target' in msg and 'and 3 more' in msg
    assert '\n' not in msg


def test_target_without_input_is_reported(tmp_path):
    _touch_images(tmp_path / 'input', ['a.png'])
    _touch_images(tmp_path / 'target', ['a.png', 'b.png'])
    with pytest.raises(DataError, match=r'target/b\.png \(no input .*input/b'):
        pair_by_template({'img_path': ('input', '{stem}{ext}'),
                          'gt_path': ('target', '{stem}{ext}')}, data_root=str(tmp_path))


def test_file_matching_no_template_is_reported_unless_ignored(tmp_path):
    _touch_images(tmp_path / 'data', ['1_rain.png', 'thumb.png'])
    _touch_images(tmp_path / 'gt', ['1_clean.png'])
    roles = {'img_path': ('data', '{stem}_rain{ext}'), 'gt_path': ('gt', '{stem}_clean{ext}')}
    with pytest.raises(DataError, match=r'thumb\.png \(matches no template\)'):
        pair_by_template(roles, data_root=str(tmp_path))
    pairs = pair_by_template(roles, data_root=str(tmp_path), ignore_unmatched=True)
    assert len(pairs) == 1


def test_two_files_with_one_stem_are_ambiguous(tmp_path):
    _touch_images(tmp_path / 'input', ['a.png', 'a.jpg'])
    _touch_images(tmp_path / 'target', ['a.png'])
    with pytest.raises(DataError, match=r"share the stem 'a'"):
        pair_by_template({'img_path': ('input', '{stem}{ext}'),
                          'gt_path': ('target', '{stem}{ext}')}, data_root=str(tmp_path))


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(DataError, match=r"dataset folder not found: .*nowhere, .*target$"):
        pair_by_template({'img_path': ('nowhere', '{stem}{ext}'),
                          'gt_path': ('target', '{stem}{ext}')}, data_root=str(tmp_path))


def test_pair_list_reads_columns_and_reports_problems(tmp_path):
    write_rgb(tmp_path / 'r' / '1.png', rgb(4, 4))
    write_rgb(tmp_path / 'c' / '1.png', rgb(4, 4))
    listing = tmp_path / 'list.txt'
    listing.write_text('# comment\n/c/1.png r/1.png\n\n')
    (pair,) = read_pair_list(str(listing), columns=('gt_path', 'img_path'))
    assert pair['img_path'] == os.path.join(str(tmp_path), 'r/1.png')
    assert pair['gt_path'] == os.path.join(str(tmp_path), 'c/1.png')
    listing.write_text('r/1.png c/1.png\nr/2.png c/2.png\n')
    expected = r'2 file\(s\) listed in .*list\.txt not found: .*r/2\.png, .*c/2\.png'
    with pytest.raises(DataError, match=expected):
        read_pair_list(str(listing))
    listing.write_text('r/1.png\n')
    with pytest.raises(DataError, match=r'list\.txt:1: expected 2 paths'):
        read_pair_list(str(listing))
