"""Evaluation: PSNR/SSIM, named benchmark protocols, region-aware and mask metrics.

This package is the lazy location of the METRICS (and EVALUATOR) registry: importing
it registers :class:`RestorationMetric` and :class:`MaskMetric`; its ``protocols``
module is the location of ``PROTOCOLS`` (the named evaluation protocols). See
``docs/evaluation.md`` for every protocol and convention.
"""
from .alignment import aligned_psnr_ssim, ecc_align
from .image_metrics import peak_value, psnr, rgb_to_y, ssim, ssim_map
from .lab_error import lab_error
from .mask_metric import MaskMetric
from .mask_metrics import ConfusionCounts, mask_scores
from .matlab_resize import imresize
from .protocols import (
    Protocol,
    aggregate_scores,
    get_protocol,
    protocol_names,
    register_protocol,
)
from .region_metrics import (
    RegionScores,
    SweepPoint,
    degradation_mask,
    region_psnr,
    region_ssim,
    threshold_sweep,
)
from .restoration_metric import RestorationMetric

__all__ = [
    'psnr', 'ssim', 'ssim_map', 'rgb_to_y', 'peak_value',
    'Protocol', 'get_protocol', 'protocol_names', 'register_protocol', 'aggregate_scores',
    'lab_error', 'imresize', 'ecc_align', 'aligned_psnr_ssim',
    'RegionScores', 'SweepPoint', 'degradation_mask', 'region_psnr', 'region_ssim',
    'threshold_sweep',
    'ConfusionCounts', 'mask_scores',
    'RestorationMetric', 'MaskMetric',
]
