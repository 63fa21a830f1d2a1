"""Reflect padding to the network stride and cropping back (any input size works)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from spairkit.ops.dense import dense_ops_enabled


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad the bottom/right of ``x`` so H and W are multiples of ``multiple``.

    Returns the padded tensor and the original ``(H, W)`` for :func:`crop_to`. A side
    shorter than the padding it needs is padded in several reflections (a 1-pixel side is
    repeated, which is what reflecting a single pixel gives), so inputs of any size work.
    """
    h, w = x.shape[-2:]
    if dense_ops_enabled():  # exporting: sizes are symbolic, see _reflect_by_index
        return _reflect_by_index(x, multiple), (h, w)
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    while pad_h or pad_w:
        cur_h, cur_w = x.shape[-2:]
        step_h, step_w = min(pad_h, max(cur_h - 1, 0)), min(pad_w, max(cur_w - 1, 0))
        if (pad_h and cur_h == 1) or (pad_w and cur_w == 1):
            # Reflecting one pixel is the pixel itself.
            rep_h, rep_w = (pad_h if cur_h == 1 else 0), (pad_w if cur_w == 1 else 0)
            x = F.pad(x, (0, rep_w, 0, rep_h), mode='replicate')
            pad_h, pad_w = pad_h - rep_h, pad_w - rep_w
            continue
        x = F.pad(x, (0, step_w, 0, step_h), mode='reflect')
        pad_h, pad_w = pad_h - step_h, pad_w - step_w
    return x, (h, w)


def _reflect_index(size, target: int, device: torch.device) -> torch.Tensor:
    """Source row of each of ``target`` rows when ``size`` rows are reflect-padded.

    Repeated reflection (as in :func:`pad_to_multiple`) is a triangle wave of period
    ``2 * (size - 1)`` over the positions (a 1-pixel side repeats its pixel).
    """
    pos = torch.arange(target, device=device)
    # A tensor, so a 1-pixel side (period 0 -> 1) needs no branch on the size.
    period = (pos.new_ones(()) * (2 * size - 2)).clamp(min=1)
    j = pos % period
    return torch.where(j < size, j, period - j)


def _reflect_by_index(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """:func:`pad_to_multiple`'s padding written as two index gathers, without any
    branch on the size, so an exported graph (``torch.export``, ONNX, a TorchScript
    trace) pads correctly for every height and width. Same values as the loop."""
    h, w = x.shape[-2], x.shape[-1]
    th = (h + multiple - 1) // multiple * multiple
    tw = (w + multiple - 1) // multiple * multiple
    x = x.index_select(-2, _reflect_index(h, th, x.device))
    return x.index_select(-1, _reflect_index(w, tw, x.device))


def crop_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Undo :func:`pad_to_multiple`: keep the top-left ``size`` of ``x``."""
    if dense_ops_enabled():  # a gather: slicing would tie the export to "padded != size"
        return (x.index_select(-2, torch.arange(size[0], device=x.device))
                .index_select(-1, torch.arange(size[1], device=x.device)))
    return x[..., :size[0], :size[1]]


def mask_pyramid(mask: torch.Tensor, num_levels: int) -> list[torch.Tensor]:
    """The mask at every level: level l is the 2**l max-pool of the full-resolution mask.

    Max-pooling makes a coarse pixel degraded when any pixel under it is (SPEC.md).
    """
    masks = [mask]
    for _ in range(1, num_levels):
        masks.append(F.max_pool2d(masks[-1], 2, ceil_mode=True))
    return masks
