"""Masks of an exact degraded fraction, for timing Net_R at a controlled density.

Real degradations (streaks, drops) are spatially clustered, and clustering matters for
cost: Net_R max-pools the mask to its coarser levels, where isolated pixels would blow
up into many active coarse pixels. So the mask is a smooth random field (low-resolution
noise, bilinearly upsampled) and exactly ``round(density * H * W)`` of its highest
pixels are marked degraded. The same ``seed`` gives the same mask.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def density_mask(height: int, width: int, density: float, seed: int = 0,
                 blob: int = 8) -> torch.Tensor:
    """A ``(1, 1, H, W)`` float mask with exactly ``round(density*H*W)`` ones, clustered.

    Args:
        density: degraded fraction in [0, 1].
        blob: the noise is drawn at ``1/blob`` of the resolution, so degraded regions
            are blobs roughly ``blob`` pixels across.
    """
    if not 0.0 <= density <= 1.0:
        raise ValueError(f'density must lie in [0, 1], got {density}')
    if height < 1 or width < 1:
        raise ValueError(f'mask size must be positive, got {height}x{width}')
    total = height * width
    count = int(round(density * total))
    mask = torch.zeros(total)
    if count > 0:
        gen = torch.Generator().manual_seed(seed)
        low = torch.rand(1, 1, max(1, height // blob), max(1, width // blob), generator=gen)
        field = F.interpolate(low, size=(height, width), mode='bilinear', align_corners=False)
        # A tiny independent jitter breaks the ties of the interpolation exactly.
        field = field + 1e-6 * torch.rand(1, 1, height, width, generator=gen)
        mask[field.flatten().topk(count).indices] = 1.0
    return mask.view(1, 1, height, width)
