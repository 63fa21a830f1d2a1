"""Tiled inference: overlapping tiles blended with a raised-cosine window.

Why: a whole large image may not fit in memory (Net_R's activations grow with H*W).
Each tile is restored on its own, including its overlap, so the mask of a tile is also
predicted on the tile with its overlap (Net_L sees context across the seam). The tile
outputs are averaged with weights that fall smoothly to (almost) zero towards the tile
sides that lie inside the image, so no seam is visible; sides on the image border keep
full weight because no other tile covers them.

What tiling loses: SNL (and Net_L's receptive field) aggregate context along whole rows
and columns of the image; inside a tile a degraded pixel only sees the clean pixels of
its tile. docs/restore.md gives the measured effect.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from spairkit.errors import ConfigError


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``[0, length)`` with >= ``overlap``.

    The last tile is aligned to the end, so every tile is full size (when
    ``tile >= length`` there is a single tile, the whole side).
    """
    if tile >= length:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def blend_window(length: int, ramp: int, ramp_start: bool, ramp_end: bool) -> np.ndarray:
    """1-D weights: 1 in the middle, a raised-cosine ramp of ``ramp`` samples at each
    end that borders another tile. Strictly positive, so every pixel gets weight."""
    w = np.ones(length, np.float64)
    ramp = min(ramp, length // 2)
    if ramp > 0:
        rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
        if ramp_start:
            w[:ramp] = rise
        if ramp_end:
            w[length - ramp:] = rise[::-1]
    return w


def check_tiling(tile: int | None, overlap: int) -> None:
    """Reject tile sizes/overlaps that cannot cover an image (a user's mistake)."""
    if tile is None:
        return
    if tile < 1:
        raise ConfigError(f'--tile must be a positive number of pixels, got {tile}')
    if overlap < 0:
        raise ConfigError(f'--tile-overlap must be >= 0, got {overlap}')
    if overlap >= tile:
        raise ConfigError(f'--tile-overlap ({overlap}) must be smaller than --tile ({tile})')


def run_tiled(run: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
              image: torch.Tensor, tile: int, tile_overlap: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply ``run`` (``(1,3,h,w) -> (restored (3,h,w), mask (1,h,w))``) tile by tile.

    ``image`` is ``(1,3,H,W)``; returns the blended ``(3,H,W)`` restoration and
    ``(1,H,W)`` mask probability, accumulated on the CPU in float64 so only one tile's
    activations live on the device at a time.
    """
    check_tiling(tile, tile_overlap)
    overlap = tile_overlap
    _, _, height, width = image.shape
    ys, xs = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    if len(ys) == 1 and len(xs) == 1:
        return run(image)
    acc = torch.zeros(4, height, width, dtype=torch.float64)
    weight_sum = torch.zeros(1, height, width, dtype=torch.float64)
    for y in ys:
        th = min(tile, height)
        wy = blend_window(th, overlap, y > 0, y + th < height)
        for x in xs:
            tw = min(tile, width)
            wx = blend_window(tw, overlap, x > 0, x + tw < width)
            weight = torch.from_numpy(np.outer(wy, wx))[None]
            restored, mask = run(image[:, :, y:y + th, x:x + tw])
            both = torch.cat([restored, mask], dim=0).to('cpu', torch.float64)
            acc[:, y:y + th, x:x + tw] += both * weight
            weight_sum[:, y:y + th, x:x + tw] += weight
    out = acc / weight_sum
    return out[:3].float(), out[3:].float()
