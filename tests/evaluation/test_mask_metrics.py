"""Mask scores from confusion counts, including the defined empty cases."""
from __future__ import annotations

import numpy as np
import pytest

from spairkit.evaluation import ConfusionCounts, mask_scores


def test_scores_from_known_counts():
    target = np.zeros((4, 5), bool)
    target[0, :4] = True          # P = 4, N = 16
    pred = np.zeros((4, 5), bool)
    pred[0, :2] = True            # TP = 2
    pred[3, :3] = True            # FP = 3 -> FN = 2, TN = 13
    counts = ConfusionCounts.from_masks(pred, target)
    assert counts == ConfusionCounts(tp=2, fp=3, fn=2, tn=13)
    s = counts.scores()
    assert s['IoU'] == pytest.approx(2 / 7)
    assert s['F1'] == pytest.approx(4 / 9)
    assert s['precision'] == pytest.approx(2 / 5)
    assert s['recall'] == pytest.approx(2 / 4)
    assert s['BER'] == pytest.approx(1 - 0.5 * (2 / 4 + 13 / 16))


def test_empty_cases_are_defined():
    empty = np.zeros((3, 3), bool)
    full = np.ones((3, 3), bool)
    assert mask_scores(empty, empty) == {'IoU': 1.0, 'F1': 1.0, 'precision': 1.0,
                                         'recall': 1.0, 'BER': 0.0}
    assert mask_scores(full, full) == {'IoU': 1.0, 'F1': 1.0, 'precision': 1.0,
                                       'recall': 1.0, 'BER': 0.0}
    false_alarm = mask_scores(full, empty)
    assert false_alarm['IoU'] == 0.0 and false_alarm['BER'] == 1.0
    assert false_alarm['recall'] == 1.0 and false_alarm['precision'] == 0.0
    missed = mask_scores(empty, full)
    assert missed['IoU'] == 0.0 and missed['BER'] == 1.0 and missed['precision'] == 1.0


def test_counts_pool_by_addition_and_shapes_must_match():
    a = ConfusionCounts(1, 2, 3, 4) + ConfusionCounts(10, 20, 30, 40)
    assert a == ConfusionCounts(11, 22, 33, 44)
    with pytest.raises(ValueError, match='shapes differ'):
        mask_scores(np.zeros((2, 2)), np.zeros((2, 3)))
