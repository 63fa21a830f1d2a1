"""Mask agreement scores logged during localizer training."""
from __future__ import annotations

import torch


def mask_iou_f1(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IoU and F1 of two binary masks over the whole batch.

    Both are 1 when prediction and target are both empty (nothing to find, nothing
    found), so a clean batch does not read as a failure.
    """
    pred = pred.bool()
    target = target.bool()
    tp = (pred & target).sum().float()
    fp = (pred & ~target).sum().float()
    fn = (~pred & target).sum().float()
    union = tp + fp + fn
    one = torch.ones((), device=pred.device)
    iou = torch.where(union > 0, tp / union.clamp_min(1), one)
    f1 = torch.where(union > 0, 2 * tp / (2 * tp + fp + fn).clamp_min(1), one)
    return iou, f1
