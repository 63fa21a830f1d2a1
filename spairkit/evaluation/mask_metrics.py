"""Scores of a predicted degradation mask (Net_L) against the reference mask.

All scores come from the confusion counts, so they can be computed per image or
pooled over a dataset by adding counts (:class:`ConfusionCounts`). Degenerate cases
are defined rather than left as 0/0, following "no error was possible, none was made":

* IoU = TP / (TP + FP + FN), and F1 (Dice) = 2TP / (2TP + FP + FN): both 1 when
  neither mask has a positive pixel.
* precision = TP / (TP + FP): 1 when nothing is predicted (no false alarm was made).
* recall = TP / (TP + FN): 1 when the reference has no positive pixel.
* balanced error rate BER = 1 - (TP / P + TN / N) / 2, as a fraction in [0, 1]
  (shadow-detection papers print it x100). When one class is absent, its term is
  dropped and BER is the error rate of the other class.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ConfusionCounts:
    """Pixel counts of a binary prediction against a binary reference."""

    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def from_masks(cls, pred: np.ndarray, target: np.ndarray) -> ConfusionCounts:
        """Counts of two boolean (or 0/1) masks of the same shape."""
        pred, target = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
        if pred.shape != target.shape:
            raise ValueError(f'mask shapes differ: {pred.shape} vs reference {target.shape}')
        tp = int(np.count_nonzero(pred & target))
        fp = int(np.count_nonzero(pred & ~target))
        fn = int(np.count_nonzero(~pred & target))
        return cls(tp=tp, fp=fp, fn=fn, tn=int(pred.size) - tp - fp - fn)

    def __add__(self, other: ConfusionCounts) -> ConfusionCounts:
        return ConfusionCounts(self.tp + other.tp, self.fp + other.fp,
                               self.fn + other.fn, self.tn + other.tn)

    def scores(self) -> dict[str, float]:
        """IoU, F1, precision, recall and BER with the conventions of the module doc."""
        tp, fp, fn, tn = self.tp, self.fp, self.fn, self.tn
        union = tp + fp + fn
        positives, negatives = tp + fn, tn + fp
        if positives and negatives:
            ber = 1.0 - 0.5 * (tp / positives + tn / negatives)
        elif positives:
            ber = fn / positives
        elif negatives:
            ber = fp / negatives
        else:
            raise ValueError('confusion counts of an empty mask have no error rate')
        return {
            'IoU': tp / union if union else 1.0,
            'F1': 2 * tp / (2 * tp + fp + fn) if union else 1.0,
            'precision': tp / (tp + fp) if tp + fp else 1.0,
            'recall': tp / positives if positives else 1.0,
            'BER': float(ber),
        }


def mask_scores(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """IoU, F1, precision, recall and BER of one boolean mask against another."""
    return ConfusionCounts.from_masks(pred, target).scores()
