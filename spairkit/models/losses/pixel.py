"""Pixel losses for Net_R: L1 (the paper's), Charbonnier, MSE and a region-weighted mix.

The per-pixel criteria are written once (:data:`CRITERIA`) and shared by the plain
losses and by :class:`RegionWeightedPixelLoss`.
"""
from __future__ import annotations

import torch

from spairkit.errors import ConfigError
from spairkit.registry import LOSSES

from .base import WeightedLoss, check_positive


def l1(pred: torch.Tensor, target: torch.Tensor, eps: float) -> torch.Tensor:
    return (pred - target).abs()


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float) -> torch.Tensor:
    return torch.sqrt((pred - target) ** 2 + eps * eps)


def squared(pred: torch.Tensor, target: torch.Tensor, eps: float) -> torch.Tensor:
    return (pred - target) ** 2


#: Element-wise criteria by name (``eps`` is only used by Charbonnier).
CRITERIA = {'l1': l1, 'charbonnier': charbonnier, 'mse': squared}


class _PixelLoss(WeightedLoss):
    criterion = 'l1'

    def __init__(self, loss_weight: float = 1.0, loss_name: str | None = None,
                 eps: float = 1e-3):
        super().__init__(loss_weight, loss_name)
        self.eps = check_positive(type(self).__name__, 'eps', eps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.loss_weight * CRITERIA[self.criterion](pred, target, self.eps).mean()


@LOSSES.register_module()
class L1Loss(_PixelLoss):
    """Mean absolute error, the paper's Net_R loss (logged as ``loss_l1``)."""

    criterion = 'l1'
    default_name = 'loss_l1'


@LOSSES.register_module()
class CharbonnierLoss(_PixelLoss):
    """``mean(sqrt((pred - target)^2 + eps^2))``: L1 with a smooth minimum.

    Keeps L1's robustness to outliers but has a gradient that vanishes at zero error,
    so already-correct (clean) pixels are not pushed around by sign flips.
    """

    criterion = 'charbonnier'
    default_name = 'loss_charbonnier'


@LOSSES.register_module()
class MSELoss(_PixelLoss):
    """Mean squared error (what PSNR measures; less robust to outliers than L1)."""

    criterion = 'mse'
    default_name = 'loss_mse'


@LOSSES.register_module()
class RegionWeightedPixelLoss(WeightedLoss):
    """A pixel criterion weighted separately on degraded and clean pixels of the GT mask.

    ``loss = mean(w * criterion(pred, target))`` with ``w = degraded_weight`` where the
    ground-truth mask is 1 and ``clean_weight`` where it is 0 (the mask is broadcast
    over channels). With both weights 1 it equals the plain criterion. Raising
    ``clean_weight`` trades some effort on the degraded region for leaving the clean
    pixels as they were (SPAIR's second goal); raising ``degraded_weight`` does the
    opposite and counters sparse masks, where the clean pixels dominate the mean.

    Args:
        criterion: ``'l1'``, ``'charbonnier'`` or ``'mse'``.
        degraded_weight: weight of pixels inside the ground-truth mask.
        clean_weight: weight of pixels outside it.
        eps: Charbonnier's epsilon.
    """

    requires_mask = True
    default_name = 'loss_region'

    def __init__(self, criterion: str = 'l1', degraded_weight: float = 1.0,
                 clean_weight: float = 1.0, eps: float = 1e-3, loss_weight: float = 1.0,
                 loss_name: str | None = None):
        super().__init__(loss_weight, loss_name)
        if criterion not in CRITERIA:
            raise ConfigError(f'RegionWeightedPixelLoss.criterion must be one of '
                              f'{sorted(CRITERIA)}, got {criterion!r}')
        self.criterion = criterion
        owner = 'RegionWeightedPixelLoss'
        self.degraded_weight = check_positive(owner, 'degraded_weight', degraded_weight,
                                              allow_zero=True)
        self.clean_weight = check_positive(owner, 'clean_weight', clean_weight,
                                           allow_zero=True)
        self.eps = check_positive(owner, 'eps', eps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            raise ValueError('RegionWeightedPixelLoss needs the ground-truth mask')
        if mask.dim() != pred.dim() or mask.shape[0] != pred.shape[0] \
                or mask.shape[-2:] != pred.shape[-2:]:
            raise ValueError(f'mask of shape {tuple(mask.shape)} does not match the '
                             f'images of shape {tuple(pred.shape)}')
        mask = (mask > 0.5).to(pred.dtype)
        weight = self.clean_weight + (self.degraded_weight - self.clean_weight) * mask
        elementwise = CRITERIA[self.criterion](pred, target, self.eps)
        return self.loss_weight * (weight * elementwise).mean()
