"""Reading images for restoration exactly as they are: gray, RGB or RGBA, 8 or 16 bit.

The training datasets (:mod:`spairkit.datasets.image_io`) always produce RGB and drop
alpha; ``restore`` must instead give back an image of the same kind as the one it was
given, so this reader keeps the channel layout and the bit depth and only converts
OpenCV's BGR(A) order to RGB(A).
"""
from __future__ import annotations

import os

import cv2
import numpy as np

from spairkit.errors import DataError


def read_image_unchanged(path: str | os.PathLike) -> np.ndarray:
    """``HxW`` gray, ``HxWx3`` RGB or ``HxWx4`` RGBA, ``uint8``/``uint16``, as stored.

    Raises :class:`DataError` naming the file when it is missing, empty, undecodable
    or of an unsupported sample type/channel count.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f'image file not found: {path}')
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0:
        raise DataError(f'image file is empty (0 bytes): {path}')
    img = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise DataError(f'cannot decode image (corrupt or unsupported format): {path}')
    if img.dtype not in (np.uint8, np.uint16):
        raise DataError(f'unsupported sample type {img.dtype} (expected 8- or 16-bit): {path}')
    if img.ndim == 2:
        return img
    channels = img.shape[2]
    if channels == 1:
        return img[:, :, 0]
    if channels == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    raise DataError(f'unsupported number of channels {channels}: {path}')
