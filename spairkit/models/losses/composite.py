"""A sum of registered losses under one name (e.g. Dice + BCE for Net_L)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from spairkit.errors import ConfigError
from spairkit.registry import LOSSES

from .base import WeightedLoss


@LOSSES.register_module()
class SumOfLosses(WeightedLoss):
    """``loss_weight * sum(loss_i(...))`` of the ``losses`` configs, all of one kind.

    All parts must take the same arguments (all pixel losses or all mask losses);
    ``requires_mask`` holds when any part needs the ground-truth mask.
    """

    default_name = 'loss_sum'

    def __init__(self, losses: Sequence[dict], loss_weight: float = 1.0,
                 loss_name: str | None = None):
        super().__init__(loss_weight, loss_name)
        if not isinstance(losses, (list, tuple)) or not losses:
            raise ConfigError(f'SumOfLosses.losses must be a non-empty list of loss configs, '
                              f'got {losses!r}')
        self.losses = nn.ModuleList(LOSSES.build(dict(cfg)) for cfg in losses)
        self.requires_mask = any(part.requires_mask for part in self.losses)

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * sum(part(*args) for part in self.losses)
