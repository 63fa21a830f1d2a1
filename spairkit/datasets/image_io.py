"""Reading images and masks from disk: the one image reader, with errors that name the file.

Every image spairkit reads (training pairs, masks, ``restore`` inputs) goes through
:func:`read_image_unchanged`, which

* reads the header first (Pillow opens lazily: size, frame count, EXIF orientation)
  and refuses an image whose declared pixel count exceeds ``max_pixels`` *before*
  decoding, so a small file declaring 30000x30000 pixels never allocates them;
* refuses multi-frame files (animated GIF, multi-page TIFF) with the frame count:
  restoring only the first frame and exiting 0 would silently lose the others;
* decodes with OpenCV (``cv2.imdecode`` of the bytes, ``IMREAD_UNCHANGED`` so 16-bit
  depth and alpha survive, non-ASCII paths work) and then applies the EXIF
  orientation itself (``IMREAD_UNCHANGED`` ignores it), so a phone photo comes out
  the way it is displayed;
* converts OpenCV's BGR(A) order to RGB(A), the one place colour order changes.

A missing, empty and undecodable file each get their own message.
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from spairkit.errors import DataError

#: File extensions recognised as images when scanning folders (lower case).
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.gif')
#: Image formats spairkit cannot read; a folder entry with one of these extensions is
#: reported as a failure rather than skipped.
UNSUPPORTED_IMAGE_EXTENSIONS = ('.heic', '.heif', '.avif', '.jxl', '.jp2', '.svg', '.ico',
                                '.psd', '.dng', '.cr2', '.nef', '.arw', '.raw', '.exr', '.hdr')
_EXIF_ORIENTATION = 0x0112


def is_image_file(name: str) -> bool:
    """Whether ``name`` has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def looks_like_image(name: str) -> bool:
    """An image extension, readable or not (folder scans report the unreadable ones)."""
    ext = os.path.splitext(name)[1].lower()
    return ext in IMAGE_EXTENSIONS or ext in UNSUPPORTED_IMAGE_EXTENSIONS


@dataclass(frozen=True)
class ImageHeader:
    """What an image file declares before it is decoded."""

    width: int
    height: int
    frames: int
    orientation: int  # EXIF orientation 1..8 (1: as stored)
    format: str


def read_header(path: str) -> ImageHeader:
    """The declared size, frame count and EXIF orientation of ``path`` (nothing decoded)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(path) as im:
                frames = int(getattr(im, 'n_frames', 1) or 1)
                orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
                return ImageHeader(im.width, im.height, frames, orientation, im.format or '?')
    except Image.DecompressionBombError as exc:
        # Pillow refuses to even describe images beyond 2 x MAX_IMAGE_PIXELS.
        found = re.search(r'\((\d+) pixels\)', str(exc))
        pixels = f'{int(found[1]):,} pixels' if found else 'an absurd number of pixels'
        raise DataError(f'image declares {pixels} in its header, far more than can be '
                        f'restored (a decompression bomb?); not decoded: {path}') from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f'cannot decode image (corrupt or unsupported format): {path}') from exc


def apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a stored image into its displayed orientation (EXIF tag 274, values 1..8)."""
    if orientation == 2:
        img = img[:, ::-1]
    elif orientation == 3:
        img = img[::-1, ::-1]
    elif orientation == 4:
        img = img[::-1]
    elif orientation == 5:
        img = img.swapaxes(0, 1)
    elif orientation == 6:
        img = np.rot90(img, -1)
    elif orientation == 7:
        img = img.swapaxes(0, 1)[::-1, ::-1]
    elif orientation == 8:
        img = np.rot90(img, 1)
    return np.ascontiguousarray(img)


def read_image_unchanged(path: str | os.PathLike, max_pixels: int | None = None) -> np.ndarray:
    """``HxW`` gray, ``HxWx3`` RGB or ``HxWx4`` RGBA, ``uint8``/``uint16``, as displayed.

    Raises :class:`DataError` naming the file when it is missing, empty, declares more
    than ``max_pixels`` pixels, has several frames, is undecodable or of an unsupported
    sample type/channel count.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise DataError(f'is a folder, not an image file: {path}')
    if not os.path.isfile(path):
        kind = 'a dangling symlink' if os.path.islink(path) else 'not found'
        raise DataError(f'image file {kind}: {path}')
    if os.path.getsize(path) == 0:
        raise DataError(f'image file is empty (0 bytes): {path}')
    header = read_header(path)
    pixels = header.width * header.height
    if max_pixels is not None and pixels > max_pixels:
        raise DataError(
            f'image declares {header.width}x{header.height} = {pixels / 1e6:.0f} Mpx, more '
            f'than the memory budget allows ({max_pixels / 1e6:.0f} Mpx; raise '
            f'--memory-budget); not decoded: {path}')
    if header.frames > 1:
        kind = {'GIF': 'animated GIF', 'TIFF': 'multi-page TIFF'}.get(header.format, 'file')
        raise DataError(f'{kind} with {header.frames} frames: only single images are '
                        f'restored (split it into one file per frame): {path}')
    img = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise DataError(f'cannot decode image (corrupt or unsupported format): {path}')
    if img.dtype not in (np.uint8, np.uint16):
        raise DataError(
            f'unsupported image sample type {img.dtype} (expected 8- or 16-bit): {path}')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3:
        if img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        elif img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
        else:
            raise DataError(f'unsupported number of channels {img.shape[2]}: {path}')
    return apply_orientation(img, header.orientation)


def read_image(path: str, alpha: str = 'drop') -> np.ndarray:
    """Read ``path`` as an ``HxWx3`` RGB array, keeping 8- or 16-bit depth.

    Grayscale images are repeated to three channels so the networks always see
    RGB. ``alpha`` says what to do with a 4th channel: ``'drop'`` discards it
    (restoration pairs are compared on colour only), ``'error'`` rejects the file.
    """
    if alpha not in ('drop', 'error'):
        raise ValueError(f"alpha must be 'drop' or 'error', got {alpha!r}")
    img = read_image_unchanged(path)
    if img.ndim == 2:
        return np.ascontiguousarray(np.repeat(img[:, :, None], 3, axis=2))
    if img.shape[2] == 4:
        if alpha == 'error':
            raise DataError(f'image has an alpha channel (alpha="error"): {path}')
        return np.ascontiguousarray(img[:, :, :3])
    return img


def read_mask(path: str) -> np.ndarray:
    """Read a ground-truth mask file as an ``HxW`` ``uint8`` array in {0, 1}.

    Mask files are stored either as {0, 255} (ISTD's ``*_B`` folders, most
    tools) or as {0, 1}. A file whose maximum is at most 1 is taken as already
    binary; otherwise a pixel is degraded when it is above half of the type's
    range (127 for 8-bit), which also tolerates compression noise around 0/255.
    Colour mask files are reduced with the maximum over channels.
    """
    mask = read_image_unchanged(path)
    if mask.ndim == 3:
        mask = mask[:, :, :3].max(axis=2) if mask.shape[2] >= 3 else mask.max(axis=2)
    if mask.max() <= 1:
        return mask.astype(np.uint8)
    half = np.iinfo(mask.dtype).max // 2
    return (mask > half).astype(np.uint8)


def load_pair(img_path: str, gt_path: str, mask_path: str | None = None,
              alpha: str = 'drop') -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Read a degraded/clean pair (and its mask) and check they line up.

    Returns ``(img, gt, mask)`` with ``mask`` ``None`` when no ``mask_path`` is
    given. A size or bit-depth mismatch is a :class:`DataError` naming both
    files: restoring against a misaligned target teaches the wrong mapping.
    """
    img = read_image(img_path, alpha=alpha)
    gt = read_image(gt_path, alpha=alpha)
    if img.shape != gt.shape:
        raise DataError(
            f'size mismatch: input {img_path} is {img.shape[1]}x{img.shape[0]} but '
            f'target {gt_path} is {gt.shape[1]}x{gt.shape[0]} (WxH)')
    if img.dtype != gt.dtype:
        raise DataError(
            f'bit-depth mismatch: input {img_path} is {img.dtype} but target {gt_path} '
            f'is {gt.dtype}')
    mask = None
    if mask_path is not None:
        mask = read_mask(mask_path)
        if mask.shape != img.shape[:2]:
            raise DataError(
                f'size mismatch: mask {mask_path} is {mask.shape[1]}x{mask.shape[0]} but '
                f'input {img_path} is {img.shape[1]}x{img.shape[0]} (WxH)')
    return img, gt, mask
