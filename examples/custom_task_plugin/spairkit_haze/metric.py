"""A dehazing metric: fidelity plus how much haze is left, overall and in dense haze.

PSNR says how close the output is to the clean image but not whether the remaining
error is haze. The dark channel (He et al., CVPR 2009: the minimum over colour
channels and a small window, near 0 in haze-free outdoor images and raised by
airlight) measures haze directly; ``residual_haze`` is the mean dark channel of the
output minus that of the clean image (0 = no haze left, negative = over-dehazed).
Both are reported over the whole image and inside the degraded (dense haze) mask.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from mmengine.evaluator import BaseMetric

from spairkit.evaluation import psnr, region_psnr
from spairkit.registry import METRICS


def dark_channel(img: np.ndarray, window: int = 7) -> np.ndarray:
    """``HxW`` dark channel of an ``HxWx3`` image in [0, 1]."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (window, window))
    return cv2.erode(img.min(axis=2), kernel, borderType=cv2.BORDER_REFLECT)


def _uint8(tensor) -> np.ndarray:
    """(3,H,W) float tensor in [0, 1] -> HxWx3 uint8, rounded as when saving a PNG."""
    array = tensor.detach().cpu().float().numpy().transpose(1, 2, 0)
    return np.clip(np.rint(array * 255), 0, 255).astype(np.uint8)


@METRICS.register_module()
class HazeMetric(BaseMetric):
    """PSNR and residual haze of dehazed outputs, overall and in dense haze.

    Consumes the model's predict dicts ('pred', 'gt', 'mask' optional).
    """

    default_prefix = 'haze'

    def __init__(self, window: int = 7, collect_device: str = 'cpu', prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.window = int(window)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred, gt = _uint8(sample['pred']), _uint8(sample['gt'])
            residual = (dark_channel(pred / 255.0, self.window)
                        - dark_channel(gt / 255.0, self.window))
            result = dict(PSNR=psnr(pred, gt), residual_haze=float(residual.mean()))
            mask = sample.get('mask')
            if mask is not None:
                dense = mask.detach().cpu().numpy()[0] > 0.5
                if dense.any():
                    result['residual_haze_dense'] = float(residual[dense].mean())
                    result['PSNR_dense'] = region_psnr(pred, gt, dense.astype(np.uint8)).degraded
            self.results.append(result)

    def compute_metrics(self, results: list[dict]) -> dict[str, float]:
        keys = sorted({k for r in results for k in r})
        return {k: float(np.mean([r[k] for r in results if k in r])) for k in keys}
