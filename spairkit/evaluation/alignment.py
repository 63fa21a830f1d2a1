"""ECC alignment of a restored image to its target, as RealBlur's evaluation does.

RealBlur's ground truth is captured by a second camera, so restored and sharp images
are misaligned by a small geometric transform. Its official evaluation
(``evaluation/evaluate_RealBlur.py``, after Koehler et al.) therefore, per image:

1. converts both images to float32 in [0, 1];
2. matches intensities globally: ``zs = (sum(x z) / sum(z z)) z`` (x = target,
   z = restored);
3. estimates a **homography** (``cv2.MOTION_HOMOGRAPHY``) with ``cv2.findTransformECC``
   on the grayscale images (``COLOR_RGB2GRAY``), 100 iterations, eps 0, Gaussian
   pre-filter of size 5;
4. warps ``zs`` onto the target (bicubic, reflected border) and warps an all-ones
   image with nearest-neighbour and a zero border to get the **valid region**
   (pixels that came from inside the restored image);
5. zeroes both images outside the valid region.

PSNR and SSIM are then taken over the valid region only
(:func:`aligned_psnr_ssim`). This module reproduces those steps exactly.
"""
from __future__ import annotations

import cv2
import numpy as np

from spairkit.errors import DataError

from .image_metrics import check_pair, peak_value, ssim_map

ECC_ITERATIONS = 100
ECC_EPS = 0.0
ECC_GAUSS_FILTER = 5


def ecc_align(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Align ``pred`` onto ``gt`` (both HxWx3 RGB) as RealBlur's evaluation does.

    Returns ``(aligned_pred, masked_gt, valid)``: float32 HxWx3 images in [0, 1]
    zeroed outside the valid region, and ``valid`` as float32 HxWx3 of 0/1.
    Raises :class:`~spairkit.errors.DataError` when ECC cannot find a transform
    (e.g. a constant image has no gradient to align).
    """
    check_pair(pred, gt)
    peak = peak_value(pred)
    z = np.asarray(pred, dtype=np.float32) / np.float32(peak)
    x = np.asarray(gt, dtype=np.float32) / np.float32(peak)
    if z.ndim != 3 or z.shape[2] != 3:
        raise ValueError(f'ECC alignment expects HxWx3 RGB images, got shape {z.shape}')
    denom = float(np.sum(z * z))
    if denom == 0.0:
        raise DataError('ECC alignment failed: the restored image is all black')
    zs = (np.sum(x * z) / denom) * z
    warp = np.eye(3, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ECC_ITERATIONS, ECC_EPS)
    try:
        _, warp = cv2.findTransformECC(
            cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), cv2.cvtColor(zs, cv2.COLOR_RGB2GRAY),
            warp, cv2.MOTION_HOMOGRAPHY, criteria, None, ECC_GAUSS_FILTER)
    except cv2.error as exc:
        reason = str(exc).strip().splitlines()[-1]
        raise DataError(f'ECC alignment failed: {reason}') from exc
    h, w = x.shape[:2]
    zr = cv2.warpPerspective(zs, warp, (w, h), flags=cv2.INTER_CUBIC + cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REFLECT)
    valid = cv2.warpPerspective(np.ones_like(zs, dtype=np.float32), warp, (w, h),
                                flags=cv2.INTER_NEAREST + cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return zr * valid, x * valid, valid


def aligned_psnr_ssim(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """RealBlur's PSNR and SSIM: ECC-align, then evaluate over the valid region.

    PSNR: squared error summed over the valid region (all channels) divided by the
    number of valid values, peak 1. SSIM: Gaussian 11x11 SSIM map per channel (peak
    1), averaged over the valid pixels of the 'valid'-filtered map, then over the
    channels. The aligned image is not clipped (RealBlur does not clip it either).
    """
    zr, xr, valid = ecc_align(pred, gt)
    zr, xr, valid = (a.astype(np.float64) for a in (zr, xr, valid))
    count = valid.sum()
    if count == 0:
        raise DataError('ECC alignment failed: the aligned image does not overlap the target')
    mse = float(np.sum((xr - zr) ** 2) / count)
    psnr_value = float('inf') if mse == 0.0 else float(10.0 * np.log10(1.0 / mse))
    r = 5  # radius of the 11x11 window
    crop = valid[r:-r, r:-r, :]
    per_channel = []
    for c in range(3):
        smap = ssim_map(xr[..., c], zr[..., c], 1.0, 'gaussian11')
        per_channel.append((smap * crop[..., c]).sum() / crop[..., c].sum())
    return {'PSNR': psnr_value, 'SSIM': float(np.mean(per_channel))}
