"""Full-reference PSNR and SSIM as the deraining literature computes them.

The numbers must match the MATLAB-style evaluation that papers report (and that
BasicSR's ``calculate_psnr`` / ``calculate_ssim`` reproduce in Python), so the
details below are deliberate, not incidental:

* Everything is computed in float64 on the original intensity scale.
* The **peak value is decided by the dtype**: ``uint8`` -> 255, ``uint16`` -> 65535,
  floating point -> 1.0 (the values must then lie in [0, 1]). Other dtypes are
  rejected rather than guessed.
* ``y_channel=True`` converts RGB to the luma of MATLAB's ``rgb2ycbcr`` (ITU-R BT.601,
  studio range): on [0, 1] input ``Y = 16 + 65.481 R + 128.553 G + 24.966 B``, in
  0..255 units (scaled by ``peak / 255`` for other peaks). Y is **not** rounded, as in
  BasicSR; MATLAB on uint8 images rounds Y to uint8, which can move PSNR by a few
  hundredths of a dB. Single-channel (HxW) input is taken as already being luma.
* ``crop_border`` removes that many pixels from every side before anything else.
* SSIM uses an 11x11 Gaussian window (sigma 1.5), ``C1 = (0.01 L)^2``,
  ``C2 = (0.03 L)^2``, population (co)variances and 'valid' filtering: the SSIM map
  is only evaluated where the window lies inside the image, i.e. it is
  ``(H - 10) x (W - 10)``. Colour images are evaluated per channel and averaged.
* Identical images have zero MSE; PSNR is then ``inf`` (as BasicSR and
  scikit-image return), never an arbitrary cap.

The lower-level helpers (:func:`to_float`, :func:`rgb_to_y`, :func:`masked_psnr`,
:func:`ssim_map`, :func:`masked_ssim`) are shared with the named protocols and the
region-aware metrics, so every number in spairkit comes from one implementation.
"""
from __future__ import annotations

import cv2
import numpy as np

#: BT.601 studio-range luma weights (R, G, B) of MATLAB's rgb2ycbcr on [0, 1] input.
MATLAB_Y_WEIGHTS = np.array([65.481, 128.553, 24.966])
MATLAB_Y_OFFSET = 16.0

#: SSIM windows by name: (kind, size, sample_covariance).
SSIM_WINDOWS = {
    # MATLAB ssim_index / BasicSR: 11x11 Gaussian, sigma 1.5, population variances.
    'gaussian11': ('gaussian', 11, False),
    # scikit-image's defaults (compare_ssim as the AGAN raindrop evaluation calls it):
    # 7x7 uniform window with sample (N-1 normalised) covariances.
    'uniform7': ('uniform', 7, True),
}


def peak_value(img: np.ndarray) -> float:
    """The largest representable intensity for ``img``'s dtype (see module doc)."""
    if img.dtype == np.uint8:
        return 255.0
    if img.dtype == np.uint16:
        return 65535.0
    if np.issubdtype(img.dtype, np.floating):
        return 1.0
    raise TypeError(
        f'unsupported image dtype {img.dtype}; use uint8 (peak 255), uint16 (peak 65535) '
        'or float in [0, 1] (peak 1)')


def check_pair(img: np.ndarray, ref: np.ndarray) -> float:
    """Validate an image pair and return its peak value.

    Both images must be numpy arrays of the same shape and dtype, HxW or HxWxC; float
    images must lie in [0, 1] because the peak of a float image is 1.
    """
    img, ref = np.asarray(img), np.asarray(ref)
    if img.shape != ref.shape:
        raise ValueError(f'image shapes differ: {img.shape} vs reference {ref.shape}')
    if img.dtype != ref.dtype:
        raise ValueError(f'image dtypes differ: {img.dtype} vs reference {ref.dtype}')
    if img.ndim not in (2, 3):
        raise ValueError(f'expected an HxW or HxWxC image, got shape {img.shape}')
    peak = peak_value(img)
    if np.issubdtype(img.dtype, np.floating):
        for name, arr in (('image', img), ('reference', ref)):
            if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
                raise ValueError(
                    f'float {name} has values outside [0, 1] '
                    f'([{arr.min():.4g}, {arr.max():.4g}]); the peak of a float image is 1')
    return peak


def crop_borders(img: np.ndarray, crop_border: int) -> np.ndarray:
    """Remove ``crop_border`` pixels from each side (rows and columns)."""
    if crop_border < 0:
        raise ValueError(f'crop_border must be >= 0, got {crop_border}')
    if crop_border == 0:
        return img
    h, w = img.shape[:2]
    if 2 * crop_border >= min(h, w):
        raise ValueError(f'crop_border={crop_border} leaves nothing of a {h}x{w} image')
    return img[crop_border:h - crop_border, crop_border:w - crop_border, ...]


def rgb_to_y(img: np.ndarray, peak: float) -> np.ndarray:
    """MATLAB ``rgb2ycbcr`` luma of an RGB image on the ``[0, peak]`` scale, float64.

    Returns HxWx1 in ``[16, 235] * peak / 255`` (studio range), without rounding.
    """
    x = np.asarray(img, dtype=np.float64) / peak
    y = (x @ MATLAB_Y_WEIGHTS + MATLAB_Y_OFFSET) * (peak / 255.0)
    return y[..., None]


def to_float(img: np.ndarray, crop_border: int = 0, y_channel: bool = False) -> np.ndarray:
    """Crop, optionally convert to MATLAB Y, and return float64 HxWxC."""
    peak = peak_value(img)
    img = crop_borders(np.asarray(img), crop_border)
    if img.ndim == 2:
        return img.astype(np.float64)[..., None]
    if y_channel:
        if img.shape[2] != 3:
            raise ValueError(f'y_channel=True needs an RGB image, got {img.shape[2]} channels')
        return rgb_to_y(img, peak)
    return img.astype(np.float64)


def _region_mask(mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.shape != shape:
        raise ValueError(f'mask shape {mask.shape} does not match image size {shape}')
    return mask.astype(bool)


def masked_psnr(a: np.ndarray, b: np.ndarray, peak: float,
                mask: np.ndarray | None = None) -> float:
    """PSNR between float HxWxC arrays, over all pixels or the pixels where ``mask``.

    The MSE averages over every channel of the selected pixels. An empty region
    gives ``nan`` (undefined), a zero MSE gives ``inf``.
    """
    diff2 = (a - b) ** 2
    region = _region_mask(mask, a.shape[:2])
    if region is not None:
        if not region.any():
            return float('nan')
        diff2 = diff2[region]
    mse = float(np.mean(diff2))
    if mse == 0.0:
        return float('inf')
    return float(10.0 * np.log10(peak * peak / mse))


def _window_filter(img: np.ndarray, window: str) -> np.ndarray:
    """'valid' correlation of a 2-D float64 image with the named SSIM window."""
    kind, size, _ = SSIM_WINDOWS[window]
    if kind == 'gaussian':
        k = cv2.getGaussianKernel(size, 1.5)
        kernel = k @ k.T
    else:
        kernel = np.full((size, size), 1.0 / (size * size))
    r = size // 2
    # filter2D pads the border, then the padded rows/cols are cut away: what is left
    # is exactly the 'valid' correlation (the windows fully inside the image).
    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT_101)[r:-r, r:-r]


def ssim_map(a: np.ndarray, b: np.ndarray, peak: float, window: str = 'gaussian11') -> np.ndarray:
    """The SSIM map of two 2-D float64 images over the 'valid' window positions.

    The result is ``(H - size + 1) x (W - size + 1)``: pixel ``(i, j)`` of the map
    belongs to image pixel ``(i + size // 2, j + size // 2)``.
    """
    if window not in SSIM_WINDOWS:
        raise ValueError(f'unknown SSIM window {window!r}; known: {sorted(SSIM_WINDOWS)}')
    _, size, sample_cov = SSIM_WINDOWS[window]
    if min(a.shape) < size:
        raise ValueError(f'SSIM with a {size}x{size} window needs an image of at least '
                         f'{size}x{size} pixels, got {a.shape[0]}x{a.shape[1]}')
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    mu_a = _window_filter(a, window)
    mu_b = _window_filter(b, window)
    cov_norm = size * size / (size * size - 1.0) if sample_cov else 1.0
    var_a = cov_norm * (_window_filter(a * a, window) - mu_a * mu_a)
    var_b = cov_norm * (_window_filter(b * b, window) - mu_b * mu_b)
    cov_ab = cov_norm * (_window_filter(a * b, window) - mu_a * mu_b)
    num = (2.0 * mu_a * mu_b + c1) * (2.0 * cov_ab + c2)
    den = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    return num / den


def masked_ssim(a: np.ndarray, b: np.ndarray, peak: float, mask: np.ndarray | None = None,
                window: str = 'gaussian11') -> float:
    """Mean SSIM of float HxWxC arrays, averaged per channel and then over channels.

    With ``mask``, each channel's SSIM map is averaged over the pixels where the mask
    is set. The map only covers the 'valid' window positions, so the mask is cropped
    by the window radius on every side to line up with it; an empty (cropped) region
    gives ``nan``.
    """
    if window not in SSIM_WINDOWS:
        raise ValueError(f'unknown SSIM window {window!r}; known: {sorted(SSIM_WINDOWS)}')
    region = _region_mask(mask, a.shape[:2])
    r = SSIM_WINDOWS[window][1] // 2
    if region is not None:
        region = region[r:region.shape[0] - r, r:region.shape[1] - r]
        if not region.any():
            return float('nan')
    values = []
    for c in range(a.shape[2]):
        smap = ssim_map(a[..., c], b[..., c], peak, window)
        values.append(smap[region].mean() if region is not None else smap.mean())
    return float(np.mean(values))


def psnr(img: np.ndarray, ref: np.ndarray, crop_border: int = 0,
         y_channel: bool = False) -> float:
    """PSNR in dB of ``img`` against ``ref`` (HxWx3 RGB or HxW), as BasicSR/MATLAB.

    ``crop_border`` pixels are removed from each side first; ``y_channel`` evaluates
    MATLAB's BT.601 studio-range Y instead of RGB. Identical images give ``inf``.
    """
    peak = check_pair(img, ref)
    a = to_float(img, crop_border, y_channel)
    b = to_float(ref, crop_border, y_channel)
    return masked_psnr(a, b, peak)


def ssim(img: np.ndarray, ref: np.ndarray, crop_border: int = 0,
         y_channel: bool = False) -> float:
    """SSIM of ``img`` against ``ref`` (HxWx3 RGB or HxW), as BasicSR/MATLAB.

    11x11 Gaussian window (sigma 1.5), 'valid' filtering, averaged over the RGB
    channels unless ``y_channel`` is set.
    """
    peak = check_pair(img, ref)
    a = to_float(img, crop_border, y_channel)
    b = to_float(ref, crop_border, y_channel)
    return masked_ssim(a, b, peak)
