"""Inference latency of Net_R at a forced mask density: SPAIR against Net1.

SPAIR's claim is that its restoration compute follows the degraded area. To isolate
that, Net_R is timed on its own with a mask of an exact degraded fraction
(:func:`~spairkit.benchmarking.masks.density_mask`) instead of Net_L's prediction;
Net_L's cost is the same for every density and is timed separately. Net1 (the dense
encoder-decoder, Table 6) calls no mask-guided operator, so it is timed once per size
and backend-independent; it is the static CNN SPAIR is compared with.

Used by ``spairkit bench`` (quick settings) and ``benchmarks/model.py`` (full sweep).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .ladder import model_cfg
from .masks import density_mask
from .tables import format_ms, markdown_table
from .timing import forced_backend, time_call

QUICK_SIZE = 128
QUICK_DENSITIES = (0.05, 0.25, 1.0)
DEFAULT_MODELS = ('Net1', 'SPAIR')


def build_restorer(name: str, small: bool = False) -> torch.nn.Module:
    """Rung ``name`` of the Table 6 ladder as an eval-mode SPAIR model (random weights).

    Latency does not depend on the weights, so no checkpoint is loaded; the model is
    built with ``use_gt_mask=True`` so it needs no trained Net_L.
    """
    from spairkit.registry import MODELS

    cfg = model_cfg(name, small=small)
    cfg['use_gt_mask'] = True
    model = MODELS.build(cfg)
    return model.eval()


def count_parameters(module: torch.nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


def _netr_inputs(model: torch.nn.Module, size: int, density: float, seed: int):
    """Image, forced mask and Net_L's features (computed once, no grad) for Net_R."""
    image = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))
    mask = density_mask(size, size, density, seed=seed)
    guides = None
    if model.netr.guide_levels:  # the Net_R interface (spairkit.models.networks.interface)
        with torch.no_grad():
            _, guides = model.netl(image)
    return image, mask, guides


def netr_forward(model: torch.nn.Module, size: int, density: float, seed: int = 0
                 ) -> Callable[[], torch.Tensor]:
    """A closure running ``model.netr`` on a ``size``x``size`` image and forced mask.

    Net_L's features (the SFM guides) are computed once, outside the closure. It runs
    under ``torch.no_grad()``, not ``inference_mode()``: the compiled backend caches its
    sparse plans by the mask's version counter, which inference tensors do not have.
    """
    image, mask, guides = _netr_inputs(model, size, density, seed)

    def run() -> torch.Tensor:
        with torch.no_grad():
            return model.netr(image, mask, guides)

    return run


def netr_train_step(model: torch.nn.Module, size: int, density: float, seed: int = 0
                    ) -> Callable[[], float]:
    """A closure running one training step of ``model.netr`` (forward, L1 loss against
    a random target, backward, Adam) on a ``size``x``size`` image and forced mask.

    Net_L is frozen (its features are computed once, as in :func:`netr_forward`), so
    the step is Net_R's: what the compact path's backward costs against Net1's.
    """
    image, mask, guides = _netr_inputs(model, size, density, seed)
    target = torch.rand(image.shape, generator=torch.Generator().manual_seed(seed + 1))
    optimizer = torch.optim.Adam(model.netr.parameters(), lr=1e-4)

    def run() -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = (model.netr(image, mask, guides) - target).abs().mean()
        loss.backward()
        optimizer.step()
        return float(loss)

    return run


def netl_forward(model: torch.nn.Module, size: int, seed: int = 0) -> Callable[[], object]:
    """A closure running Net_L alone (the localisation cost SPAIR adds)."""
    image = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))

    def run() -> object:
        with torch.no_grad():
            return model.netl(image)

    return run


@dataclass
class LatencyRow:
    """One measured (or skipped) configuration."""

    model: str
    size: int
    density: float | None
    backend: str
    median_s: float | None
    min_s: float | None
    reps: int
    note: str = ''

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def uses_mask_ops(name: str) -> bool:
    """Whether rung ``name`` calls mask-guided operators (Net1 calls none)."""
    return name != 'Net1'


def bench_latency(models: Sequence[str] = DEFAULT_MODELS, sizes: Sequence[int] = (QUICK_SIZE,),
                  densities: Sequence[float] = QUICK_DENSITIES,
                  backends: Sequence[str] | None = None, reps: int = 3,
                  budget_s: float = 20.0, skip_over_s: float | None = None,
                  small: bool = False, include_netl: bool = True,
                  progress: Callable[[LatencyRow], None] | None = None) -> list[LatencyRow]:
    """Median Net_R latency for every model x size x density x backend.

    Args:
        backends: operator backends to force (default: every available one).
        budget_s: per configuration, stop repeating once this much time is used.
        skip_over_s: skip a configuration whose estimated single-call time (the same
            model/backend/density at the previous size, scaled by the pixel ratio to the
            power 1.5) exceeds this; the row says so instead of vanishing.
        small: use the CPU-sized widths of the ablation instead of the library's.
        include_netl: add one ``Net_L`` row per size.
    """
    from spairkit.ops import available_backends

    backends = list(backends) if backends is not None else available_backends()
    rows: list[LatencyRow] = []

    def emit(row: LatencyRow) -> None:
        rows.append(row)
        if progress is not None:
            progress(row)

    built = {name: build_restorer(name, small=small) for name in models}
    previous: dict[tuple, tuple[int, float]] = {}
    for size in sorted(sizes):
        if include_netl and built:
            model = next(iter(built.values()))
            t = time_call(netl_forward(model, size), reps=reps, budget_s=budget_s)
            emit(LatencyRow('Net_L', size, None, 'n/a', t.median_s, t.min_s, t.reps))
        for name, model in built.items():
            if not uses_mask_ops(name):
                t = time_call(netr_forward(model, size, 1.0), reps=reps, budget_s=budget_s)
                emit(LatencyRow(name, size, None, 'n/a', t.median_s, t.min_s, t.reps,
                                'calls no mask-guided op: same at every density'))
                continue
            for backend in backends:
                for density in densities:
                    key = (name, backend, density)
                    if skip_over_s is not None and key in previous:
                        prev_size, prev_t = previous[key]
                        estimate = prev_t * (size / prev_size) ** 3
                        if estimate > skip_over_s:
                            emit(LatencyRow(name, size, density, backend, None, None, 0,
                                            f'skipped: estimated {estimate:.0f} s per call '
                                            f'> {skip_over_s:.0f} s'))
                            previous[key] = (size, estimate)
                            continue
                    with forced_backend(backend):
                        t = time_call(netr_forward(model, size, density), reps=reps,
                                      budget_s=budget_s)
                    previous[key] = (size, t.median_s)
                    emit(LatencyRow(name, size, density, backend, t.median_s, t.min_s,
                                    t.reps))
    return rows


def latency_table(rows: Sequence[LatencyRow]) -> str:
    """The rows as a Markdown table, with SPAIR's time relative to Net1 at that size."""
    net1 = {r.size: r.median_s for r in rows if r.model == 'Net1' and r.median_s}
    table = []
    for r in rows:
        ratio = None
        if r.model not in ('Net1', 'Net_L') and r.median_s and net1.get(r.size):
            ratio = f'{r.median_s / net1[r.size]:.2f}x'
        density = '-' if r.density is None else f'{100 * r.density:g}%'
        table.append([r.model, f'{r.size}x{r.size}', density, r.backend,
                      format_ms(r.median_s), r.reps, ratio, r.note])
    return markdown_table(['net', 'size', 'degraded', 'ops backend', 'median ms', 'reps',
                           'vs Net1', 'note'], table)
