"""Spatial Feature Modulator (SFM), SPAIR Sec. 3.2.1, eq. (1)."""
from __future__ import annotations

import torch
from torch import nn

from spairkit.ops import masked_feature_modulation
from spairkit.registry import MODELS


@MODELS.register_module()
class SFM(nn.Module):
    """Fuse Net_L features into Net_R, then move degraded pixels to clean statistics.

    ``F = x + conv1x1(guide)`` (additive fusion with the Net_L feature of the same
    level), then eq. (1), per image and channel::

        out = M * (sigma_c * (F - mu_d) / sigma_d + mu_c) + (1 - M) * F

    with mean/std over degraded (d) and clean (c) pixels of ``F``
    (:func:`spairkit.ops.masked_feature_modulation`). Clean pixels therefore carry the
    fused feature ``F`` unchanged. Without ``guide_channels`` the block only modulates.

    Args:
        channels: width of the Net_R feature ``x``.
        guide_channels: width of the Net_L feature fused into it (None: no fusion).
        eps: variance floor of eq. (1).
    """

    def __init__(self, channels: int, guide_channels: int | None = None, eps: float = 1e-5):
        super().__init__()
        self.eps = float(eps)
        self.proj = nn.Conv2d(guide_channels, channels, 1) if guide_channels else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                guide: torch.Tensor | None = None) -> torch.Tensor:
        if self.proj is not None:
            if guide is None:
                raise ValueError('SFM was built with guide_channels but got no guide feature')
            x = x + self.proj(guide)
        return masked_feature_modulation(x, mask, eps=self.eps)
