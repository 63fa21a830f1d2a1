"""Shadow-removal error in CIE Lab over all, shadow and non-shadow pixels (ISTD).

Shadow-removal papers (ISTD, and SPAIR's Table 4) report an "RMSE" in Lab computed by
a MATLAB script shared since Guo et al.; that script actually computes a **mean
absolute error**, and spairkit reproduces what it computes, not what it is called:

1. images (as double in [0, 1]) and the shadow mask are resized to 256x256 with
   MATLAB's bicubic ``imresize`` (:mod:`spairkit.evaluation.matlab_resize`);
2. the resized mask marks a pixel as shadow when the resized 8-bit mask is not 0,
   i.e. when the resized 0/1 mask exceeds ``0.5 / 255`` (MATLAB resizes the uint8
   mask and rounds, then takes ``~mask`` as non-shadow);
3. both images are converted to Lab (scikit-image ``rgb2lab``, D65; the resized
   images are clipped to [0, 1] first, as colour conversion assumes);
4. the per-pixel error is the L1 distance in Lab (``|dL| + |da| + |db|``), averaged
   over the pixels of each region.

:func:`lab_error` returns, per region, the per-image mean and the raw sum and pixel
count, so that a dataset can be summarised both per image (the mean of the per-image
values, "PI") and per pixel (total error over total pixels, "PP"); both summaries
appear in published tables.
"""
from __future__ import annotations

import numpy as np
from skimage.color import rgb2lab

from .image_metrics import check_pair, peak_value
from .matlab_resize import imresize

ISTD_SIZE = (256, 256)
REGIONS = ('all', 'shadow', 'nonshadow')


def lab_error(img: np.ndarray, ref: np.ndarray, mask: np.ndarray,
              size: tuple[int, int] | None = ISTD_SIZE) -> dict[str, float]:
    """Lab mean absolute error of ``img`` against ``ref`` per region (see module doc).

    ``mask`` is the HxW shadow mask (non-zero = shadow). ``size=None`` skips the
    resize. Returns ``Lab_<region>`` (per-pixel mean, ``nan`` for an empty region)
    plus ``Lab_<region>@sum`` and ``Lab_<region>@count`` for pooled summaries.
    """
    check_pair(img, ref)
    peak = peak_value(img)
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.shape != img.shape[:2]:
        raise ValueError(f'shadow mask shape {mask.shape} does not match image size '
                         f'{img.shape[:2]}')
    a = np.asarray(img, dtype=np.float64) / peak
    b = np.asarray(ref, dtype=np.float64) / peak
    m = (mask != 0).astype(np.float64)
    if size is not None:
        a, b = imresize(a, size), imresize(b, size)
        shadow = imresize(m, size) > 0.5 / 255.0
    else:
        shadow = m > 0
    dist = np.abs(rgb2lab(np.clip(a, 0.0, 1.0)) - rgb2lab(np.clip(b, 0.0, 1.0))).sum(axis=2)
    regions = {'all': np.ones_like(shadow), 'shadow': shadow, 'nonshadow': ~shadow}
    out: dict[str, float] = {}
    for name in REGIONS:
        sel = regions[name]
        total, count = float(dist[sel].sum()), int(sel.sum())
        out[f'Lab_{name}'] = total / count if count else float('nan')
        out[f'Lab_{name}@sum'] = total
        out[f'Lab_{name}@count'] = float(count)
    return out
