"""Mask losses for Net_L: BCE (the paper's), BCE with a positive weight, Dice, focal.

Degraded pixels are often a small minority (7-10% for raindrops and motion blur); an
unweighted BCE is then minimised well enough by "everything clean" that Net_L can
settle there. ``BCELoss(pos_weight=...)``, Dice (a ratio, blind to the class balance)
and focal (down-weights the easy majority) are the standard counters.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss

from spairkit.errors import ConfigError
from spairkit.registry import LOSSES

from .base import WeightedLoss, check_positive

BATCH = 'batch'


def _check_shapes(logits: torch.Tensor, target: torch.Tensor) -> None:
    if logits.shape != target.shape:
        raise ValueError(f'mask logits of shape {tuple(logits.shape)} and target of shape '
                         f'{tuple(target.shape)} differ')


@LOSSES.register_module()
class BCELoss(WeightedLoss):
    """Binary cross-entropy with logits, optionally weighting the degraded pixels.

    Args:
        pos_weight: ``None`` (plain BCE, the paper's), a number (weight of degraded
            pixels), or ``'batch'``: derived per batch as ``#clean / #degraded`` of the
            target, so both classes weigh the same in the sum; clamped to
            ``[1, max_pos_weight]`` and 1 for a batch without degraded pixels.
        max_pos_weight: upper bound of the derived weight (a batch with a handful of
            degraded pixels must not blow the loss up).
    """

    default_name = 'loss_bce'

    def __init__(self, pos_weight: float | str | None = None, max_pos_weight: float = 50.0,
                 loss_weight: float = 1.0, loss_name: str | None = None):
        super().__init__(loss_weight, loss_name)
        if isinstance(pos_weight, str) and pos_weight != BATCH:
            raise ConfigError(f"BCELoss.pos_weight must be None, a number or '{BATCH}', "
                              f'got {pos_weight!r}')
        if pos_weight is not None and pos_weight != BATCH:
            pos_weight = check_positive('BCELoss', 'pos_weight', pos_weight)
        self.pos_weight = pos_weight
        self.max_pos_weight = check_positive('BCELoss', 'max_pos_weight', max_pos_weight)
        if self.max_pos_weight < 1:
            raise ConfigError(f'BCELoss.max_pos_weight must be >= 1, got {max_pos_weight!r}')

    def batch_pos_weight(self, target: torch.Tensor) -> torch.Tensor:
        """``clamp(#clean / #degraded, 1, max_pos_weight)`` (1 when nothing is degraded)."""
        positives = (target > 0.5).sum().float()
        negatives = target.numel() - positives
        ratio = torch.where(positives > 0, negatives / positives.clamp_min(1),
                            torch.ones_like(positives))
        return ratio.clamp(1.0, self.max_pos_weight).detach()

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(logits, target)
        target = target.to(logits.dtype)
        if self.pos_weight is None:
            weight = None
        elif self.pos_weight == BATCH:
            weight = self.batch_pos_weight(target)
        else:
            weight = torch.tensor(self.pos_weight, dtype=logits.dtype, device=logits.device)
        loss = F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight)
        return self.loss_weight * loss


@LOSSES.register_module()
class DiceLoss(WeightedLoss):
    """Soft Dice loss ``1 - (2 sum(p t) + s) / (sum(p) + sum(t) + s)`` on ``p = sigmoid``.

    A ratio of overlaps, so it does not care how rare the degraded pixels are; on its
    own its gradients are poor early in training, hence usually summed with BCE
    (:class:`SumOfLosses`).

    Args:
        smooth: ``s`` above; it also makes an empty target with an empty prediction
            score a loss of 0.
        per_image: average the Dice of each image instead of one Dice over the batch
            (images without degraded pixels then count fully).
    """

    default_name = 'loss_dice'

    def __init__(self, smooth: float = 1.0, per_image: bool = False, loss_weight: float = 1.0,
                 loss_name: str | None = None):
        super().__init__(loss_weight, loss_name)
        self.smooth = check_positive('DiceLoss', 'smooth', smooth)
        self.per_image = bool(per_image)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(logits, target)
        prob = torch.sigmoid(logits)
        target = target.to(prob.dtype)
        dims = tuple(range(1, prob.dim())) if self.per_image else tuple(range(prob.dim()))
        inter = (prob * target).sum(dims)
        total = prob.sum(dims) + target.sum(dims)
        dice = (2 * inter + self.smooth) / (total + self.smooth)
        return self.loss_weight * (1 - dice).mean()


@LOSSES.register_module()
class FocalLoss(WeightedLoss):
    """Sigmoid focal loss (Lin et al., 2017) via :func:`torchvision.ops.sigmoid_focal_loss`.

    ``-alpha_t (1 - p_t)^gamma log(p_t)``, averaged over pixels: confident, correct
    pixels (the clean majority, once learnt) stop dominating the loss.

    Args:
        alpha: weight of the degraded class (``1 - alpha`` for clean); ``-1`` = none.
        gamma: focusing exponent (0 = alpha-weighted BCE).
    """

    default_name = 'loss_focal'

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, loss_weight: float = 1.0,
                 loss_name: str | None = None):
        super().__init__(loss_weight, loss_name)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) \
                or not (alpha == -1 or 0 <= alpha <= 1):
            raise ConfigError(f'FocalLoss.alpha must be in [0, 1] or -1, got {alpha!r}')
        self.alpha = float(alpha)
        self.gamma = check_positive('FocalLoss', 'gamma', gamma, allow_zero=True)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(logits, target)
        loss = sigmoid_focal_loss(logits, target.to(logits.dtype), alpha=self.alpha,
                                  gamma=self.gamma, reduction='mean')
        return self.loss_weight * loss
