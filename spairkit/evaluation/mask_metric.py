"""``MaskMetric``: how well Net_L localises the degraded pixels, for MMEngine.

Thresholds the model's ``'pred_mask'`` probability (> 0.5 by default) and compares it
with the sample's ``'mask'`` or, when it has none, with the mask the task's mask rule
(:mod:`spairkit.mask_rule`, the same rule that made the training targets) derives from
``input`` and ``gt``.
Scores are computed from confusion counts **pooled over the dataset** (``IoU``,
``F1``, ``precision``, ``recall``, ``BER``; see :mod:`.mask_metrics`), plus ``mIoU``,
the mean of the per-image IoUs. Keys are prefixed ``mask/`` by default.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from mmengine.evaluator import BaseMetric

from spairkit.errors import DataError
from spairkit.mask_rule import rule_for
from spairkit.registry import METRICS

from .mask_metrics import ConfusionCounts
from .restoration_metric import metric_mask_rule
from .sample_conversion import binary_mask, peak_of, quantise, sample_name


@METRICS.register_module()
class MaskMetric(BaseMetric):
    """IoU / F1 / BER of the predicted degradation mask.

    Args:
        threshold: probability above which a predicted pixel counts as degraded.
        mask_rule: derives the reference mask from ``input`` and ``gt`` when a sample
            has no ``'mask'``: ``None`` (default) = the rule of the sample's task,
            ``dict(threshold=..., on='max'|'y')`` or ``{task: dict(...)}``.
        mask_threshold: deprecated shorthand for ``mask_rule=dict(threshold=t, on='max')``.
        per_task: report ``<task>/<key>`` per ``metainfo['task']``.
        task: evaluate only the samples of this task.
    """

    default_prefix = 'mask'

    def __init__(self, threshold: float = 0.5,
                 mask_rule: Mapping[str, Any] | None = None,
                 mask_threshold: float | Mapping[str, float] | None = None,
                 per_task: bool = False, task: str | None = None,
                 collect_device: str = 'cpu', prefix: str | None = None,
                 collect_dir: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.threshold = float(threshold)
        self.mask_rule = metric_mask_rule(mask_rule, mask_threshold, 'MaskMetric')
        self.per_task = bool(per_task)
        self.task = task

    def reference_mask(self, sample: Mapping[str, Any], task: str | None) -> np.ndarray:
        """The sample's own mask, or the one derived from its input and target."""
        if sample.get('mask') is not None:
            return binary_mask(sample['mask'])
        if sample.get('input') is None:
            raise DataError(f"{sample_name(sample)}: no 'mask' to compare with and no "
                            "'input' to derive it from")
        try:
            rule = rule_for(self.mask_rule, task, 'MaskMetric.mask_rule')
        except DataError as exc:
            raise DataError(f"{sample_name(sample)}: no 'mask' to compare with: {exc}") from None
        peak = peak_of(sample)
        return rule(quantise(sample['input'], peak), quantise(sample['gt'], peak))

    def process(self, data_batch: Any, data_samples: Sequence[Mapping[str, Any]]) -> None:
        """Confusion counts and IoU of every sample in the batch."""
        for sample in data_samples:
            task = (sample.get('metainfo') or {}).get('task')
            if self.task is not None and task != self.task:
                continue
            if self.per_task and task is None:
                raise DataError(f"{sample_name(sample)}: per_task=True but metainfo has no "
                                "'task'")
            if sample.get('pred_mask') is None:
                raise DataError(f"{sample_name(sample)}: the model output has no 'pred_mask'")
            pred = binary_mask(sample['pred_mask'], self.threshold)
            target = self.reference_mask(sample, task)
            if pred.shape != target.shape:
                raise DataError(f'{sample_name(sample)}: pred_mask {pred.shape} and mask '
                                f'{target.shape} differ in size')
            counts = ConfusionCounts.from_masks(pred, target)
            self.results.append({'task': task, 'counts': counts,
                                 'iou': counts.scores()['IoU']})

    @staticmethod
    def _summary(results: list) -> dict[str, float]:
        total = ConfusionCounts(0, 0, 0, 0)
        for r in results:
            total = total + r['counts']
        summary = total.scores()
        summary['mIoU'] = float(np.mean([r['iou'] for r in results]))
        return summary

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Pooled scores (per task with ``per_task=True``)."""
        if not results:
            return {}
        if not self.per_task:
            return self._summary(results)
        metrics: dict[str, float] = {}
        for task in sorted({r['task'] for r in results}):
            summary = self._summary([r for r in results if r['task'] == task])
            metrics.update({f'{task}/{k}': v for k, v in summary.items()})
        return metrics
