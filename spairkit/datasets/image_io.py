"""Reading images and masks from disk, with errors that name the file.

This is the one place where colour order is converted (OpenCV's BGR -> RGB), so
every later stage can assume RGB. Files are read as bytes and decoded with
``cv2.imdecode`` rather than ``cv2.imread`` because that lets a missing file, an
empty file and an undecodable file each get their own message (``imread``
returns ``None`` for all three) and it also works for non-ASCII paths.
"""
from __future__ import annotations

import os

import cv2
import numpy as np

from spairkit.errors import DataError

#: File extensions recognised as images when scanning folders (lower case).
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm')


def is_image_file(name: str) -> bool:
    """Whether ``name`` has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _decode(path: str, flags: int) -> np.ndarray:
    if not os.path.isfile(path):
        raise DataError(f'image file not found: {path}')
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0:
        raise DataError(f'image file is empty (0 bytes): {path}')
    img = cv2.imdecode(raw, flags)
    if img is None or img.size == 0:
        raise DataError(f'cannot decode image (corrupt or unsupported format): {path}')
    if img.dtype not in (np.uint8, np.uint16):
        raise DataError(
            f'unsupported image sample type {img.dtype} (expected 8- or 16-bit): {path}')
    return img


def read_image(path: str, alpha: str = 'drop') -> np.ndarray:
    """Read ``path`` as an ``HxWx3`` RGB array, keeping 8- or 16-bit depth.

    Grayscale images are repeated to three channels so the networks always see
    RGB. ``alpha`` says what to do with a 4th channel: ``'drop'`` discards it
    (restoration pairs are compared on colour only), ``'error'`` rejects the file.
    """
    if alpha not in ('drop', 'error'):
        raise ValueError(f"alpha must be 'drop' or 'error', got {alpha!r}")
    img = _decode(path, cv2.IMREAD_UNCHANGED)
    if img.ndim == 2:
        return np.ascontiguousarray(np.repeat(img[:, :, None], 3, axis=2))
    channels = img.shape[2]
    if channels == 1:
        return np.ascontiguousarray(np.repeat(img, 3, axis=2))
    if channels == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if channels == 4:
        if alpha == 'error':
            raise DataError(f'image has an alpha channel (alpha="error"): {path}')
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    raise DataError(f'unsupported number of channels {channels}: {path}')


def read_mask(path: str) -> np.ndarray:
    """Read a ground-truth mask file as an ``HxW`` ``uint8`` array in {0, 1}.

    Mask files are stored either as {0, 255} (ISTD's ``*_B`` folders, most
    tools) or as {0, 1}. A file whose maximum is at most 1 is taken as already
    binary; otherwise a pixel is degraded when it is above half of the type's
    range (127 for 8-bit), which also tolerates compression noise around 0/255.
    Colour mask files are reduced with the maximum over channels.
    """
    mask = _decode(path, cv2.IMREAD_UNCHANGED)
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
