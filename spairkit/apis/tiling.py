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

Automatic tiling (``tile='auto'``, the default of ``spairkit restore``): the image is
restored whole when no side exceeds :data:`MAX_AUTO_TILE` and its pixels times
:data:`MODEL_BYTES_PER_PIXEL` (the forward's activations) plus
:data:`IMAGE_BYTES_PER_PIXEL` (the whole-image buffers: decoded input, float copies,
blend accumulators, output) fit the memory budget (:mod:`spairkit.limits`); otherwise
in the largest square tiles up to :data:`MAX_AUTO_TILE` that fit. Why a maximum: SNL
gathers every degraded pixel's whole row and column, so memory and time per pixel
grow with the side (measured: 1.3-2 KB per pixel at 512x512, 4.5 KB at 1024x1024 with
every pixel degraded), and the models are trained on 256x256 crops, so tiles of
512 already give twice the context they learned. The figures were measured with the
demo model (``benchmarks/restore_memory.py``, docs/restore.md); a wider model needs a
smaller ``--memory-budget`` or an explicit ``--tile``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, Union

import numpy as np
import torch

from spairkit.errors import ConfigError, DataError
from spairkit.limits import format_bytes

#: ``None`` (whole image), a tile size in pixels, or ``'auto'``.
TileSpec = Union[int, None, Literal['auto']]
#: Peak activation memory of one forward of the demo restorer per input pixel, for
#: inputs up to MAX_AUTO_TILE a side (measured at most 2050 B at 512x512; docs/restore.md).
MODEL_BYTES_PER_PIXEL = 2400
#: Whole-image buffers of a tiled restore, per pixel (docs/restore.md).
IMAGE_BYTES_PER_PIXEL = 120
#: Tiles chosen automatically are multiples of this and at least MIN_AUTO_TILE.
AUTO_TILE_STEP = 32
MIN_AUTO_TILE = 128
MAX_AUTO_TILE = 512


def max_image_pixels(budget_bytes: int) -> int:
    """The most pixels an image may declare: its buffers plus one smallest tile fit."""
    room = budget_bytes - MIN_AUTO_TILE ** 2 * MODEL_BYTES_PER_PIXEL
    return max(room // IMAGE_BYTES_PER_PIXEL, 0)


def auto_tile(height: int, width: int, budget_bytes: int, overlap: int = 32) -> int | None:
    """The tile for ``tile='auto'``: ``None`` when the whole image fits ``budget_bytes``,
    else the largest tile (a multiple of :data:`AUTO_TILE_STEP`) whose forward fits in
    what the whole-image buffers leave. :class:`DataError` when not even
    :data:`MIN_AUTO_TILE` fits."""
    pixels = height * width
    if max(height, width) <= MAX_AUTO_TILE and \
            pixels * (MODEL_BYTES_PER_PIXEL + IMAGE_BYTES_PER_PIXEL) <= budget_bytes:
        return None
    room = budget_bytes - pixels * IMAGE_BYTES_PER_PIXEL
    side = int(math.sqrt(max(room, 0) / MODEL_BYTES_PER_PIXEL)) // AUTO_TILE_STEP * AUTO_TILE_STEP
    side = min(side, MAX_AUTO_TILE)
    if side < max(MIN_AUTO_TILE, 2 * overlap + AUTO_TILE_STEP):
        raise DataError(f'a {width}x{height} image does not fit the memory budget of '
                        f'{format_bytes(budget_bytes)} even in tiles (raise --memory-budget)')
    return side


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


def check_tiling(tile: TileSpec, overlap: int) -> None:
    """Reject tile sizes/overlaps that cannot cover an image (a user's mistake)."""
    if overlap < 0:
        raise ConfigError(f'--tile-overlap must be >= 0, got {overlap}')
    if tile is None or tile == 'auto':
        return
    if not isinstance(tile, int) or isinstance(tile, bool):
        raise ConfigError(f"--tile must be a number of pixels or 'auto', got {tile!r}")
    if tile < 1:
        raise ConfigError(f'--tile must be a positive number of pixels, got {tile}')
    if overlap >= tile:
        raise ConfigError(f'--tile-overlap ({overlap}) must be smaller than --tile ({tile})')


def run_tiled(run: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
              image: torch.Tensor, tile: int, tile_overlap: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply ``run`` (``(1,3,h,w) -> (restored (3,h,w), mask (1,h,w))``) tile by tile.

    ``image`` is ``(1,3,H,W)``; returns the blended ``(3,H,W)`` restoration and
    ``(1,H,W)`` mask probability, accumulated on the CPU in float32 (20 bytes per
    pixel for the four channels and the weights) so only one tile's activations live
    on the device at a time.
    """
    check_tiling(tile, tile_overlap)
    overlap = tile_overlap
    _, _, height, width = image.shape
    ys, xs = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    if len(ys) == 1 and len(xs) == 1:
        return run(image)
    acc = torch.zeros(4, height, width, dtype=torch.float32)
    weight_sum = torch.zeros(1, height, width, dtype=torch.float32)
    for y in ys:
        th = min(tile, height)
        wy = blend_window(th, overlap, y > 0, y + th < height)
        for x in xs:
            tw = min(tile, width)
            wx = blend_window(tw, overlap, x > 0, x + tw < width)
            weight = torch.from_numpy(np.outer(wy, wx).astype(np.float32))[None]
            restored, mask = run(image[:, :, y:y + th, x:x + tw])
            both = torch.cat([restored, mask], dim=0).to('cpu', torch.float32)
            acc[:, y:y + th, x:x + tw] += both * weight
            weight_sum[:, y:y + th, x:x + tw] += weight
    acc /= weight_sum
    return acc[:3], acc[3:]
