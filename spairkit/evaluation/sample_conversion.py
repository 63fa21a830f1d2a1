"""Turn the model's predict dicts into the arrays the metrics evaluate.

The model outputs float tensors in [0, 1] (``(C,H,W)``, see docs/architecture.md,
"Model outputs"). Published numbers are computed on saved 8-bit images, so
predictions are quantised exactly as saving a PNG does: ``round(clip(x, 0, 1) * 255)``
(``* 65535`` for 16-bit data, when ``metainfo['max_value']`` says so). The input and
the target go through the same step, which restores their original integer values.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from spairkit.errors import DataError

_DTYPES = {255: np.uint8, 65535: np.uint16}


def _as_numpy(value: Any) -> np.ndarray:
    if hasattr(value, 'detach'):  # a torch tensor, possibly on a GPU
        value = value.detach().cpu().float().numpy()
    return np.asarray(value)


def sample_name(sample: Mapping[str, Any]) -> str:
    """The image path of a sample, for error messages ('<unknown image>' if absent)."""
    meta = sample.get('metainfo') or {}
    return str(meta.get('img_path') or meta.get('gt_path') or '<unknown image>')


def peak_of(sample: Mapping[str, Any]) -> int:
    """The integer peak value of a sample's images (``metainfo['max_value']``, 255)."""
    meta = sample.get('metainfo') or {}
    peak = int(meta.get('max_value', 255))
    if peak not in _DTYPES:
        raise DataError(f"{sample_name(sample)}: metainfo max_value={peak} is not 255 or 65535")
    return peak


def quantise(value: Any, peak: int = 255) -> np.ndarray:
    """A ``(C,H,W)`` float image in [0, 1] as ``HxWxC`` uint8/uint16 (``HxW`` if C=1)."""
    arr = _as_numpy(value).astype(np.float64)
    if arr.ndim != 3:
        raise ValueError(f'expected a (C, H, W) image, got shape {arr.shape}')
    out = np.rint(np.clip(arr, 0.0, 1.0) * peak).astype(_DTYPES[peak])
    out = np.transpose(out, (1, 2, 0))
    return out[..., 0] if out.shape[2] == 1 else out


def binary_mask(value: Any, threshold: float = 0.5) -> np.ndarray:
    """A ``(1,H,W)`` (or ``HxW``) mask/probability map as a boolean ``HxW`` array."""
    arr = _as_numpy(value)
    if arr.ndim == 3:
        if arr.shape[0] != 1:
            raise ValueError(f'expected a (1, H, W) mask, got shape {arr.shape}')
        arr = arr[0]
    if arr.ndim != 2:
        raise ValueError(f'expected a (1, H, W) mask, got shape {arr.shape}')
    return arr > threshold
