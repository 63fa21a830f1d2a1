"""``spairkit ops check``: every backend that can run here against the reference.

Each public operator of :mod:`spairkit.ops` is called with the backend forced
through ``SPAIRKIT_OPS_BACKEND`` (the supported way to pick one, so this keeps
working whatever the backends do inside) on a few random shapes, odd and 1-pixel
sides, several images with different masks, empty and full masks, in float64 and
float32. Its output and the gradients of every float input (for a random upstream
gradient) are compared with :mod:`spairkit.ops.reference` evaluated in float64 on
the CPU. A backend that raises counts as a failure, with the error in the table.

The cases are small (the whole check is a few seconds on a laptop CPU); the point
is whether the build on *this* machine computes the right thing, not speed.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch

from spairkit.ops import backend, reference

__all__ = ['CASES', 'OpResult', 'backends_for', 'check_backend', 'format_table', 'run_checks']

#: ``(N, C, H, W, mask kind)``; 'mixed' gives image 0 an empty, image 1 a full mask.
CASES = [(2, 5, 9, 11, 'random'), (3, 4, 8, 7, 'mixed'), (1, 3, 1, 9, 'random'),
         (2, 3, 7, 1, 'random'), (2, 4, 6, 5, 'empty'), (2, 4, 6, 5, 'full'),
         (1, 6, 17, 13, 'sparse')]
#: Largest accepted |difference| (absolute, and relative to the reference's scale).
TOLERANCE = {torch.float64: 1e-8, torch.float32: 2e-4}
OPS = ('sparse_conv2d', 'masked_criss_cross_attention', 'masked_feature_modulation')


@dataclass
class OpResult:
    """Worst errors of one operator on one backend, over all cases and dtypes."""

    backend: str
    op: str
    cases: int = 0
    #: dtype name ('float64', 'float32') -> (worst forward, worst backward) error
    errors: dict[str, tuple[float, float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def record(self, dtype: str, forward: float, backward: float) -> None:
        fwd, bwd = self.errors.get(dtype, (0.0, 0.0))
        self.errors[dtype] = (max(fwd, forward), max(bwd, backward))

    @property
    def passed(self) -> bool:
        return not self.failures


@contextlib.contextmanager
def forced_backend(name: str) -> Iterator[None]:
    """``SPAIRKIT_OPS_BACKEND=name`` for the duration, then the previous value."""
    before = os.environ.get(backend.BACKEND_ENV_VAR)
    os.environ[backend.BACKEND_ENV_VAR] = name
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(backend.BACKEND_ENV_VAR, None)
        else:
            os.environ[backend.BACKEND_ENV_VAR] = before


def backends_for(device: str) -> tuple[list[str], dict[str, str]]:
    """The backends to check on ``device`` ('cpu' or 'cuda') and why others are not."""
    status = backend.backend_status()
    wanted = ['torch', 'cpp'] if device == 'cpu' else ['torch', 'cuda']
    run = [b for b in wanted if status[b] is None]
    skipped = {b: status[b] for b in wanted if status[b] is not None}
    return run, skipped


def _mask(kind: str, n: int, h: int, w: int, g: torch.Generator) -> torch.Tensor:
    if kind == 'empty':
        return torch.zeros(n, 1, h, w)
    if kind == 'full':
        return torch.ones(n, 1, h, w)
    density = 0.05 if kind == 'sparse' else 0.4
    m = (torch.rand(n, 1, h, w, generator=g) < density).float()
    if kind == 'mixed':
        m[0], m[1] = 0.0, 1.0
    return m


def _inputs(op: str, case, g: torch.Generator) -> tuple[list[torch.Tensor], dict, Callable]:
    """Float inputs (float64, CPU), fixed arguments and a function of (inputs, mask)."""
    n, c, h, w, kind = case
    mask = _mask(kind, n, h, w, g)
    if op == 'sparse_conv2d':
        k, dil = (3, 2) if h > 4 and w > 4 else (3, 1)
        x = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
        weight = torch.randn(c + 1, c, k, k, generator=g, dtype=torch.float64) / (c * k * k) ** .5
        bias = torch.randn(c + 1, generator=g, dtype=torch.float64)
        return [x, weight, bias], {'mask': mask}, \
            lambda f, t, m: f(t[0], m, t[1], t[2], dilation=dil)
    if op == 'masked_criss_cross_attention':
        q, k = (torch.randn(n, 3, h, w, generator=g, dtype=torch.float64) for _ in range(2))
        v = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
        weights = torch.softmax(torch.randn(n, 4, h, w, generator=g, dtype=torch.float64), 1)
        return [q, k, v, weights], {'mask': mask}, \
            lambda f, t, m: f(t[0], t[1], t[2], m, t[3], scale=0.6)
    feat = torch.randn(n, c, h, w, generator=g, dtype=torch.float64) * 2 + 0.5
    return [feat], {'mask': mask}, lambda f, t, m: f(t[0], m, eps=1e-5)


def _forward_backward(fn: Callable, call: Callable, tensors: list[torch.Tensor],
                      mask: torch.Tensor, upstream_seed: int):
    leaves = [t.detach().clone().requires_grad_() for t in tensors]
    out = call(fn, leaves, mask)
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(upstream_seed),
                    dtype=torch.float64).to(out.device, out.dtype)
    grads = torch.autograd.grad(out, leaves, g, allow_unused=True)
    grads = [torch.zeros_like(x) if gx is None else gx for x, gx in zip(leaves, grads)]
    return out.detach(), [gx.detach() for gx in grads]


def _error(got: torch.Tensor, want: torch.Tensor) -> float:
    """max |got - want| / max(1, max |want|): absolute for small values, relative else."""
    got, want = got.detach().double().cpu(), want.detach().double().cpu()
    if got.shape != want.shape:
        return float('inf')
    if not torch.isfinite(got).all():
        return float('inf')
    scale = max(1.0, float(want.abs().max()) if want.numel() else 1.0)
    return float((got - want).abs().max()) / scale if want.numel() else 0.0


def check_backend(name: str, op: str, device: str, seed: int = 0) -> OpResult:
    """One operator on one backend over :data:`CASES` in float64 and float32."""
    result = OpResult(name, op)
    public = getattr(backend, op)
    oracle = getattr(reference, op)
    for i, case in enumerate(CASES):
        g = torch.Generator().manual_seed(seed + i)
        tensors, fixed, call = _inputs(op, case, g)
        mask = fixed['mask']
        want_out, want_grads = _forward_backward(oracle, call, tensors, mask, seed + i)
        for dtype, tol in TOLERANCE.items():
            moved = [t.to(device, dtype) for t in tensors]
            dname = str(dtype).split('.')[-1]
            label = f"{'x'.join(map(str, case[:4]))} {case[4]} {dname}"
            try:
                with forced_backend(name):
                    out, grads = _forward_backward(public, call, moved, mask.to(device),
                                                   seed + i)
            except Exception as exc:  # noqa: BLE001 - a crash is a failed check, reported
                first = next((ln for ln in str(exc).splitlines() if ln.strip()), '')
                result.failures.append(f'{label}: {type(exc).__name__}: {first[:160]}')
                result.record(dname, float('inf'), float('inf'))
                continue
            fwd = _error(out, want_out)
            bwd = max((_error(a, b) for a, b in zip(grads, want_grads)), default=0.0)
            result.cases += 1
            result.record(dname, fwd, bwd)
            if fwd > tol or bwd > tol:
                result.failures.append(f'{label}: forward {fwd:.2g}, backward {bwd:.2g} '
                                       f'(tolerance {tol:g})')
    return result


def run_checks(device: str = 'cpu', backends: list[str] | None = None) -> list[OpResult]:
    """Every operator on every backend in ``backends`` (default: those available)."""
    if backends is None:
        backends, _ = backends_for(device)
    return [check_backend(name, op, device) for name in backends for op in OPS]


def format_table(results: list[OpResult]) -> str:
    """The pass/fail table, one row per backend and operator, failures listed below."""
    dtypes = [str(d).split('.')[-1] for d in TOLERANCE]
    head = ''.join(f' {"f" + d[5:] + " fwd":>9s} {"f" + d[5:] + " bwd":>9s}' for d in dtypes)
    lines = ['worst error = max |backend - reference| / max(1, max |reference|), '
             'float64 reference on the CPU; tolerance '
             + ', '.join(f'{str(d).split(".")[-1]} {t:g}' for d, t in TOLERANCE.items()),
             f"{'backend':8s} {'operator':29s} {'runs':>4s}{head}  result"]
    for r in results:
        cells = ''.join(f' {r.errors.get(d, (float("nan"),) * 2)[0]:>9.1e}'
                        f' {r.errors.get(d, (float("nan"),) * 2)[1]:>9.1e}' for d in dtypes)
        lines.append(f"{r.backend:8s} {r.op:29s} {r.cases:>4d}{cells}  "
                     f"{'pass' if r.passed else 'FAIL'}")
    for r in results:
        for failure in r.failures[:5]:
            lines.append(f'  FAIL {r.backend} {r.op}: {failure}')
        if len(r.failures) > 5:
            lines.append(f'  ... and {len(r.failures) - 5} more failures of {r.backend} {r.op}')
    return '\n'.join(lines)
