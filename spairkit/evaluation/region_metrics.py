"""Region-aware PSNR/SSIM: quality on degraded and on clean pixels, separately.

SPAIR's claim is that it restores degraded pixels *and* leaves clean pixels alone.
A whole-image PSNR mixes the two; these functions split it (paper, Fig. S4):

* :func:`degradation_mask` (the one mask rule, :mod:`spairkit.mask_rule`) marks a
  pixel as degraded when the difference between the degraded input and the clean
  target, on luma or on the largest channel, exceeds a threshold. The threshold is a
  **fraction of the peak value** (0.1 = 25.5 grey levels on 8-bit images), so the
  same number works for uint8, uint16 and float.
* :func:`region_psnr` takes the MSE over the pixels (all channels) of one region.
* :func:`region_ssim` averages the SSIM map over the pixels of one region. The map is
  only defined where the 11x11 window fits in the image, so the mask is cropped by 5
  pixels on every side to line up with it (see :func:`~.image_metrics.masked_ssim`).
* :func:`threshold_sweep` repeats the split for several thresholds, for the input
  and the restored output, which is the data behind Fig. S4.

A region with no pixel gives ``nan`` (the metric is undefined there), a region with
zero error gives ``inf``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spairkit.mask_rule import degradation_mask

from .image_metrics import check_pair, crop_borders, masked_psnr, masked_ssim, to_float

__all__ = ['RegionScores', 'SweepPoint', 'degradation_mask', 'region_psnr', 'region_ssim',
           'threshold_sweep']


@dataclass(frozen=True)
class RegionScores:
    """One metric on the degraded (mask = 1) and on the clean (mask = 0) pixels."""

    degraded: float
    clean: float


@dataclass(frozen=True)
class SweepPoint:
    """Degraded/clean PSNR of input and output for one threshold (one x of Fig. S4)."""

    threshold: float
    degraded_fraction: float
    input: RegionScores
    output: RegionScores


def _prepared(img, ref, mask, crop_border, y_channel):
    peak = check_pair(img, ref)
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.shape != np.asarray(img).shape[:2]:
        raise ValueError(f'mask shape {mask.shape} does not match image size '
                         f'{np.asarray(img).shape[:2]}')
    region = crop_borders(mask.astype(bool), crop_border)
    return (to_float(img, crop_border, y_channel), to_float(ref, crop_border, y_channel),
            region, peak)


def region_psnr(img: np.ndarray, ref: np.ndarray, mask: np.ndarray, crop_border: int = 0,
                y_channel: bool = False) -> RegionScores:
    """PSNR of ``img`` against ``ref`` over the degraded and over the clean pixels."""
    a, b, region, peak = _prepared(img, ref, mask, crop_border, y_channel)
    return RegionScores(degraded=masked_psnr(a, b, peak, region),
                        clean=masked_psnr(a, b, peak, ~region))


def region_ssim(img: np.ndarray, ref: np.ndarray, mask: np.ndarray, crop_border: int = 0,
                y_channel: bool = False) -> RegionScores:
    """SSIM map of ``img`` against ``ref`` averaged over degraded and clean pixels."""
    a, b, region, peak = _prepared(img, ref, mask, crop_border, y_channel)
    return RegionScores(degraded=masked_ssim(a, b, peak, region),
                        clean=masked_ssim(a, b, peak, ~region))


def threshold_sweep(input: np.ndarray, output: np.ndarray, gt: np.ndarray,
                    thresholds: Sequence[float], crop_border: int = 0,
                    y_channel: bool = False, on: str = 'max') -> list[SweepPoint]:
    """Degraded/clean PSNR of ``input`` and ``output`` for each threshold (Fig. S4).

    For each threshold t the mask is :func:`degradation_mask` ``(input, gt, t, on)``: the
    regions are defined by how much the *input* differs from the target, and both the
    input and the restored output are scored on the same regions.
    """
    check_pair(output, gt)
    points = []
    for t in thresholds:
        mask = degradation_mask(input, gt, float(t), on)
        points.append(SweepPoint(
            threshold=float(t),
            degraded_fraction=float(mask.mean()),
            input=region_psnr(input, gt, mask, crop_border, y_channel),
            output=region_psnr(output, gt, mask, crop_border, y_channel)))
    return points
