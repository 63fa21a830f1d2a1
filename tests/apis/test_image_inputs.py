"""Issue 17, items 4, 5, 8, 9, 10, 14: ordinary photos just work, hostile ones are named failures.

One reader (``spairkit.datasets.image_io.read_image_unchanged``) checks the header's
size against the pixel budget before decoding, applies EXIF orientation and refuses
multi-frame files; the folder planner lists what it cannot restore; every output is
checked after resolving symlinks; outputs honour the umask.
"""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from spairkit.apis import plan_restore, read_image_unchanged, restore_files, restore_image
from spairkit.apis.tiling import MAX_AUTO_TILE, auto_tile
from spairkit.cli.main import main
from spairkit.errors import DataError, UserError
from tests.apis.conftest import TINY_CONFIG, smooth_rgb


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A valid PNG signature and IHDR declaring ``width x height`` RGB, then a few bytes of
    pixel data: what a decompression bomb looks like to a header reader."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack(
            '>I', zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b'\0' * (1 + 3 * width) * 4)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', idat)
                     + chunk(b'IEND', b''))


def _exif_jpeg(path: Path, rgb: np.ndarray, orientation: int) -> None:
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(path, exif=exif, quality=95)


def test_exif_orientation_is_applied(tmp_path, restorer):
    """A phone JPEG stored 60x40 (WxH) with orientation 6 is displayed 40x60: so is its
    restoration."""
    stored = smooth_rgb(40, 60)
    stored[:5, :5] = 255  # a marker in the stored top-left corner
    _exif_jpeg(tmp_path / 'phone.jpg', stored, 6)
    image = read_image_unchanged(tmp_path / 'phone.jpg')
    assert image.shape == (60, 40, 3)
    assert image[:5, -5:].min() > 200  # rotated clockwise: top-left went to top-right
    plan = plan_restore(tmp_path / 'phone.jpg', tmp_path / 'out.png')
    assert restore_files(restorer, plan.jobs, progress=False) == []
    assert cv2.imread(str(tmp_path / 'out.png')).shape == (60, 40, 3)


@pytest.mark.parametrize('orientation', range(1, 9))
def test_every_orientation_matches_pillow(tmp_path, orientation):
    from PIL import ImageOps
    rgb = np.random.default_rng(orientation).integers(0, 255, (6, 9, 3), dtype=np.uint8)
    path = tmp_path / 'o.png'
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(path, exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    np.testing.assert_array_equal(read_image_unchanged(path), expected)


def _animated_gif(path: Path, frames: int = 3) -> None:
    images = [Image.fromarray(smooth_rgb(16, 16, seed=i)) for i in range(frames)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=50, loop=0)


def _three_page_tiff(path: Path) -> None:
    pages = [Image.fromarray(smooth_rgb(16, 16, seed=i)) for i in range(3)]
    pages[0].save(path, save_all=True, append_images=pages[1:])


def test_multi_frame_files_are_failures_with_the_reason(tmp_path):
    _animated_gif(tmp_path / 'anim.gif')
    _three_page_tiff(tmp_path / 'pages.tif')
    with pytest.raises(DataError, match='animated GIF with 3 frames'):
        read_image_unchanged(tmp_path / 'anim.gif')
    with pytest.raises(DataError, match='multi-page TIFF with 3 frames'):
        read_image_unchanged(tmp_path / 'pages.tif')
    Image.fromarray(smooth_rgb(8, 8)).save(tmp_path / 'still.gif')
    assert read_image_unchanged(tmp_path / 'still.gif').shape[:2] == (8, 8)


def test_folder_lists_what_it_cannot_restore_and_restores_the_rest(tmp_path, capsys,
                                                                   tiny_checkpoint):
    src, out = tmp_path / 'in', tmp_path / 'out'
    src.mkdir()
    cv2.imwrite(str(src / 'good.png'), smooth_rgb(12, 12))
    cv2.imwrite(str(src / 'later.png'), smooth_rgb(12, 12, seed=3))
    _animated_gif(src / 'anim.gif')
    _png_header_only(src / 'bomb.png', 30000, 30000)
    (src / 'dangling.png').symlink_to(tmp_path / 'gone.png')
    (src / 'folder.png').mkdir()
    (src / 'photo.heic').write_bytes(b'\0\0\0\x18ftypheic')
    (src / 'notes.txt').write_text('not an image')
    code = main(['restore', str(TINY_CONFIG), str(tiny_checkpoint), str(src), str(out),
                 '--no-progress'])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert 'restored 2 of 7 image(s)' in captured.out
    reasons = {line.split(':')[0].strip(): line for line in captured.err.splitlines()
               if line.startswith('  ')}
    assert 'animated GIF with 3 frames' in reasons[str(src / 'anim.gif')]
    assert '900,000,000 pixels' in reasons[str(src / 'bomb.png')]
    assert 'dangling symlink' in reasons[str(src / 'dangling.png')]
    assert 'is a folder' in reasons[str(src / 'folder.png')]
    assert '.heic images are not supported' in reasons[str(src / 'photo.heic')]
    assert 'skipped 1 entry that are not image files' in captured.err
    assert 'notes.txt' in captured.err
    assert (out / 'good.png').is_file() and (out / 'later.png').is_file()


def test_header_size_beyond_the_budget_is_refused_before_decoding(tmp_path):
    _png_header_only(tmp_path / 'big.png', 12000, 12000)  # 144 Mpx, under Pillow's own limit
    with pytest.raises(DataError, match='12000x12000 = 144 Mpx, more than the memory budget'):
        read_image_unchanged(tmp_path / 'big.png', max_pixels=50_000_000)


def test_auto_tile_follows_the_memory_budget():
    gib = 2 ** 30
    assert auto_tile(300, 400, 12 * gib) is None  # small image: whole
    assert auto_tile(3000, 4000, 12 * gib) == MAX_AUTO_TILE  # a photo: tiled
    small = auto_tile(3000, 4000, int(1.7 * gib))
    assert small is not None and 128 <= small < MAX_AUTO_TILE and small % 32 == 0
    with pytest.raises(DataError, match='does not fit the memory budget'):
        auto_tile(3000, 4000, 256 * 2 ** 20)


def test_auto_tile_restores_like_the_tile_it_chose(restorer):
    image = smooth_rgb(150, 170)
    budget = 150 * 170 * 120 + 130 * 130 * 2400  # room for one 128-pixel tile
    tile = auto_tile(150, 170, budget)
    assert tile == 128
    auto = restore_image(restorer, image, tile='auto', memory_budget=budget)
    fixed = restore_image(restorer, image, tile=tile)
    np.testing.assert_array_equal(auto.restored, fixed.restored)


def test_symlink_inside_the_output_folder_cannot_reach_the_input(tmp_path, tiny_checkpoint,
                                                                 capsys):
    src, out = tmp_path / 'input', tmp_path / 'out'
    (src / 'sub').mkdir(parents=True)
    (src / 'other').mkdir()
    cv2.imwrite(str(src / 'sub' / 'a.png'), smooth_rgb(8, 8))
    out.mkdir()
    (out / 'sub').symlink_to(src / 'other')
    with pytest.raises(UserError, match='lies inside INPUT'):
        plan_restore(src, out, recursive=True)
    code = main(['restore', str(TINY_CONFIG), str(tiny_checkpoint), str(src), str(out),
                 '--recursive', '--no-progress'])
    assert code == 2
    assert 'lies inside INPUT' in capsys.readouterr().err
    assert list((src / 'other').iterdir()) == []


def test_restored_files_honour_the_umask(tmp_path, restorer):
    previous = os.umask(0o022)
    try:
        cv2.imwrite(str(tmp_path / 'a.png'), smooth_rgb(8, 8))
        plan = plan_restore(tmp_path / 'a.png', tmp_path / 'out' / 'a.png', save_mask=True)
        plan.jobs[0].output.parent.mkdir()
        assert restore_files(restorer, plan.jobs, progress=False) == []
        for name in ('a.png', 'a_mask.png'):
            assert (tmp_path / 'out' / name).stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        assert restore_files(restorer, plan.jobs, progress=False) == []
        assert (tmp_path / 'out' / 'a.png').stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(previous)
