"""Writing images to disk atomically, in RGB(A) order, keeping 8- or 16-bit depth.

Why atomic: ``spairkit restore`` and the report hooks write many files; a run killed
mid-write must never leave a truncated PNG that looks like a finished result. The
image is encoded in memory, written to a hidden temporary file in the destination
folder and renamed over the final name (``os.replace`` is atomic on one file system).
Colour order is converted here, at the I/O boundary (RGB -> OpenCV's BGR).
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from spairkit.fileio import atomic_write

#: Extensions OpenCV can write 16-bit samples to.
SIXTEEN_BIT_EXTENSIONS = ('.png', '.tif', '.tiff')


def to_bgr_order(image: np.ndarray) -> np.ndarray:
    """RGB -> BGR and RGBA -> BGRA; grayscale (HxW or HxWx1) is returned unchanged."""
    if image.ndim == 2 or image.shape[2] == 1:
        return image
    if image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    raise ValueError(f'cannot write an image with {image.shape[2]} channels')


def encode_image(image: np.ndarray, suffix: str) -> bytes:
    """Encode an RGB(A)/grayscale ``uint8``/``uint16`` array as the format of ``suffix``."""
    suffix = suffix.lower()
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'can only write uint8 or uint16 images, got {image.dtype}')
    if image.dtype == np.uint16 and suffix not in SIXTEEN_BIT_EXTENSIONS:
        raise ValueError(f'cannot write a 16-bit image as {suffix} '
                         f"(use one of {', '.join(SIXTEEN_BIT_EXTENSIONS)})")
    ok, buf = cv2.imencode(suffix, to_bgr_order(np.ascontiguousarray(image)))
    if not ok:
        raise ValueError(f'OpenCV cannot encode an image as {suffix}')
    return buf.tobytes()


def write_image_atomic(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write ``image`` (RGB(A) or grayscale) to ``path``; the file appears complete or not at all.

    Parent folders are created. The format follows the extension of ``path``.
    """
    data = encode_image(image, Path(path).suffix)
    atomic_write(path, lambda f: f.write(data))


def float_to_dtype(image: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Quantise a float image in [0, 1] to ``uint8``/``uint16`` (rounded), or cast to float."""
    dtype = np.dtype(dtype)
    clipped = np.clip(image, 0.0, 1.0)
    if dtype == np.uint8:
        return np.rint(clipped * 255.0).astype(np.uint8)
    if dtype == np.uint16:
        return np.rint(clipped * 65535.0).astype(np.uint16)
    if dtype.kind == 'f':
        return clipped.astype(dtype)
    raise ValueError(f'unsupported image dtype {dtype}')


def mask_to_uint8(mask: np.ndarray) -> np.ndarray:
    """A probability mask in [0, 1] as an 8-bit image 0..255 (what ``--save-mask`` writes)."""
    return np.rint(np.clip(mask, 0.0, 1.0) * 255.0).astype(np.uint8)
