"""Checking an exported file against the PyTorch model it came from."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .model import RestorerGraph

__all__ = ['SizeCheck', 'check_sizes', 'parse_size']


@dataclass(frozen=True)
class SizeCheck:
    """One comparison: the image size and the largest absolute difference."""

    height: int
    width: int
    max_abs_diff: float
    degraded_fraction: float

    def passed(self, tolerance: float) -> bool:
        return self.max_abs_diff <= tolerance


def parse_size(text: str) -> tuple[int, int]:
    """``'64x96'`` -> ``(64, 96)`` (height x width); ValueError naming the text."""
    parts = text.lower().split('x')
    try:
        h, w = (int(p) for p in parts)
    except ValueError:
        raise ValueError(f'size {text!r} is not HEIGHTxWIDTH, e.g. 64x96') from None
    if h < 1 or w < 1:
        raise ValueError(f'size {text!r} must be positive')
    return h, w


def _test_image(h: int, w: int, device: torch.device, seed: int) -> torch.Tensor:
    """A smooth image with bright streaks (something Net_L may mark), in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    base = torch.nn.functional.interpolate(torch.rand(1, 3, 5, 5, generator=g), size=(h, w),
                                           mode='bilinear', align_corners=False)
    streaks = (torch.rand(1, 1, h, w, generator=g) > 0.93).float()
    return (0.8 * base + 0.5 * streaks).clamp(0, 1).to(device)


def check_sizes(graph: RestorerGraph, run: Callable[[torch.Tensor], torch.Tensor],
                sizes: Sequence[tuple[int, int]], device: torch.device | str = 'cpu',
                seed: int = 0) -> list[SizeCheck]:
    """Run the exported model (``run``) and the PyTorch model on the same images.

    The reference is the model as it runs without export: the operators' normal
    backends (compiled or reference), the mask-guided compact path, the eager
    padding. ``degraded_fraction`` is the share of pixels Net_L marked, so a check
    on an all-clean or all-degraded mask is visible as such.
    """
    device = torch.device(device)
    model = graph.model
    results = []
    for i, (h, w) in enumerate(sizes):
        image = _test_image(h, w, device, seed + i)
        with torch.no_grad():
            expected = graph(image)
            if model.netl is None:  # a dense baseline without Net_L restores everything
                fraction = 1.0
            else:
                logits, _ = model.netl(image)
                fraction = float((torch.sigmoid(logits) > model.binarize_threshold)
                                 .float().mean())
        with torch.no_grad():
            got = run(image)
        if tuple(got.shape) != tuple(expected.shape):
            raise RuntimeError(f'exported model returned shape {tuple(got.shape)} for an '
                               f'input of {tuple(image.shape)}')
        diff = float((got.float() - expected.float()).abs().max())
        results.append(SizeCheck(h, w, diff, fraction))
    return results
