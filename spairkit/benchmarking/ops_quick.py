"""Quick operator timings: each SPAIR operator per backend and mask density.

The reference for "how fast should a masked op be" is the dense op it replaces:
``torch.nn.functional.conv2d`` for SC (the sparse conv should beat it at low
density) and the attention cost at full density for SNL. Sizes are small, so
``spairkit bench`` measures a machine in seconds; ``benchmarks/ops.py`` (operators
issue) holds the full operator sweep.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .masks import density_mask
from .tables import format_ms, markdown_table
from .timing import forced_backend, time_call

QUICK_DENSITIES = (0.05, 0.25, 0.5, 1.0)
#: (operator, spatial size, channels) of the quick run.
QUICK_SHAPES = {'sparse_conv2d': (256, 32), 'masked_criss_cross_attention': (128, 32),
                'masked_feature_modulation': (256, 32)}


@dataclass
class OpRow:
    """Timing of one operator call configuration."""

    op: str
    size: int
    channels: int
    density: float | None
    backend: str
    median_s: float
    reps: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _op_closure(op: str, size: int, channels: int, density: float, seed: int = 0
                ) -> Callable[[], torch.Tensor]:
    from spairkit import ops

    gen = torch.Generator().manual_seed(seed)
    mask = density_mask(size, size, density, seed=seed)
    x = torch.rand(1, channels, size, size, generator=gen)
    if op == 'sparse_conv2d':
        weight = torch.randn(channels, channels, 3, 3, generator=gen) * 0.05
        bias = torch.zeros(channels)
        return lambda: ops.sparse_conv2d(x, mask, weight, bias)
    if op == 'masked_criss_cross_attention':
        weights = torch.softmax(torch.randn(1, 4, size, size, generator=gen), dim=1)
        scale = channels ** -0.5
        return lambda: ops.masked_criss_cross_attention(x, x, x, mask, weights, scale)
    if op == 'masked_feature_modulation':
        return lambda: ops.masked_feature_modulation(x, mask)
    raise ValueError(f'unknown operator {op!r}')


def dense_conv_closure(size: int, channels: int, seed: int = 0) -> Callable[[], torch.Tensor]:
    """The dense 3x3 convolution that a sparse one replaces (the baseline row)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(1, channels, size, size, generator=gen)
    weight = torch.randn(channels, channels, 3, 3, generator=gen) * 0.05
    return lambda: F.conv2d(x, weight, padding=1)


def bench_ops(densities: Sequence[float] = QUICK_DENSITIES,
              backends: Sequence[str] | None = None,
              shapes: dict[str, tuple[int, int]] | None = None, reps: int = 5,
              budget_s: float = 5.0) -> list[OpRow]:
    """Median time of every operator x backend x density (plus the dense conv)."""
    from spairkit.ops import available_backends

    backends = list(backends) if backends is not None else available_backends()
    shapes = dict(QUICK_SHAPES if shapes is None else shapes)
    rows: list[OpRow] = []
    with torch.no_grad():
        if 'sparse_conv2d' in shapes:
            size, channels = shapes['sparse_conv2d']
            t = time_call(dense_conv_closure(size, channels), reps=reps, budget_s=budget_s)
            rows.append(OpRow('F.conv2d (dense)', size, channels, None, 'torch', t.median_s,
                              t.reps))
        for op, (size, channels) in shapes.items():
            for backend in backends:
                for density in densities:
                    with forced_backend(backend):
                        t = time_call(_op_closure(op, size, channels, density), reps=reps,
                                      budget_s=budget_s)
                    rows.append(OpRow(op, size, channels, density, backend, t.median_s,
                                      t.reps))
    return rows


def ops_table(rows: Sequence[OpRow]) -> str:
    """The rows as a Markdown table; SC rows also relative to the dense conv.

    ``masked_feature_modulation`` always runs the reference (see
    :mod:`spairkit.ops.backend`), whatever backend is forced.
    """
    dense = {(r.size, r.channels): r.median_s for r in rows if r.density is None}
    table = []
    for r in rows:
        ratio = None
        if r.op == 'sparse_conv2d' and dense.get((r.size, r.channels)):
            ratio = f'{r.median_s / dense[(r.size, r.channels)]:.2f}x'
        density = '-' if r.density is None else f'{100 * r.density:g}%'
        table.append([r.op, f'{r.size}x{r.size}x{r.channels}', density, r.backend,
                      format_ms(r.median_s), r.reps, ratio])
    return markdown_table(['operator', 'HxWxC', 'degraded', 'backend', 'median ms', 'reps',
                           'vs dense conv'], table)
