"""MATLAB ``imresize`` (bicubic, antialiased) for float images.

The ISTD shadow-removal evaluation that the literature reports resizes images and
masks to 256x256 with MATLAB's ``imresize`` before measuring the Lab error. OpenCV's
bicubic uses a different kernel (a = -0.75 instead of -0.5) and does not antialias
when shrinking, so it would shift the numbers; this module reproduces MATLAB:

* Keys cubic kernel with a = -0.5;
* when shrinking by ``scale < 1`` the kernel is stretched to ``4 / scale`` taps and
  scaled by ``scale`` (antialiasing);
* output pixel ``x`` (1-based) samples input position ``x / scale + 0.5 (1 - 1/scale)``;
* weights are normalised to sum to one and indices outside the image are mirrored
  (MATLAB's symmetric padding);
* each dimension is resized independently with its own scale ``out / in``.

The image stays float64; no rounding or clipping happens (MATLAB does none on double
input either).
"""
from __future__ import annotations

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1.0)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1.0) & (ax <= 2.0))
    return near + far


def _mirror(idx: np.ndarray, length: int) -> np.ndarray:
    """Map 0-based indices onto ``[0, length)`` by symmetric (edge-repeating) padding."""
    period = 2 * length
    idx = np.mod(idx, period)
    return np.where(idx < length, idx, period - 1 - idx)


def resize_matrix(in_len: int, out_len: int) -> np.ndarray:
    """The ``out_len x in_len`` matrix that resizes one dimension as MATLAB does."""
    if in_len < 1 or out_len < 1:
        raise ValueError(f'cannot resize a dimension of {in_len} pixels to {out_len}')
    scale = out_len / in_len
    antialias = scale < 1.0
    width = 4.0 / scale if antialias else 4.0
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(np.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]  # 1-based input positions
    dist = u[:, None] - indices
    weights = scale * _cubic(dist * scale) if antialias else _cubic(dist)
    weights /= weights.sum(axis=1, keepdims=True)
    cols = _mirror(indices.astype(np.int64) - 1, in_len)
    rows = np.broadcast_to(np.arange(out_len)[:, None], cols.shape)
    matrix = np.zeros((out_len, in_len))
    np.add.at(matrix, (rows, cols), weights)
    return matrix


def imresize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an HxW or HxWxC image to ``size = (out_h, out_w)``, float64 result."""
    img = np.asarray(img, dtype=np.float64)
    out_h, out_w = size
    rows = resize_matrix(img.shape[0], out_h)
    cols = resize_matrix(img.shape[1], out_w)
    # rows @ img @ cols.T for every channel at once.
    out = np.tensordot(rows, img, axes=(1, 0))
    out = np.tensordot(out, cols, axes=(1, 1))
    if img.ndim == 3:
        out = np.moveaxis(out, 1, 2)
    return out
