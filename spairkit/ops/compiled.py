"""The compiled (C++/CUDA) backends of the SPAIR operators.

Sources live in ``cuda_ops/`` (see ``docs/operators.md``); this module builds them
lazily, on the first call of :func:`is_available` or of an operator (never at import),
and wraps them in :class:`torch.autograd.Function` s with the semantics of
:mod:`spairkit.ops.reference`:

* the mask is binarised with :func:`spairkit.ops.reference.binary_mask` (``> 0.5``);
* CPU tensors compute in float32 (float64 when an input is float64; half and bf16
  are upcast), CUDA tensors of one reduced-precision dtype stay in it with float32
  accumulation; the result has the dtype of ``x`` / ``value``;
* autocast is switched off inside, the GEMMs run in the precision chosen above.

There is one build per process: with the CUDA kernels when torch sees a GPU and a
CUDA toolkit is installed, CPU-only otherwise. A build that fails (no compiler,
compiler error) emits one ``RuntimeWarning`` naming the log and the backends report
unavailable, so :mod:`spairkit.ops.backend` falls back to the reference in automatic
mode and raises when a compiled backend is forced. ``SPAIRKIT_OPS_NO_BUILD=1`` makes
the compiled backends unavailable without compiling (for quick runs of unrelated code);
an already built library is still used.

Sparse convolution plans: the active-site index of a mask (:class:`SparsePlan`)
depends on the mask, kernel size and dilation only. :func:`sparse_conv2d` builds
one per call unless ``plan=`` is given; an SC block with several layers on the same
mask builds it once with :func:`sparse_plan` and passes it to every layer.
"""
from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from types import ModuleType

import torch
from torch.autograd.function import once_differentiable

from spairkit.ops import _build
from spairkit.ops.reference import (
    binary_mask,
    check_masked_criss_cross_attention_args,
    check_sparse_conv2d_args,
    compute_dtype,
)

__all__ = [
    'CompiledOpsUnavailable',
    'NO_BUILD_ENV',
    'SparsePlan',
    'build',
    'build_status',
    'is_available',
    'load',
    'masked_criss_cross_attention',
    'sparse_conv2d',
    'sparse_plan',
]

NO_BUILD_ENV = 'SPAIRKIT_OPS_NO_BUILD'
KINDS = ('cpp', 'cuda')


class CompiledOpsUnavailable(RuntimeError):
    """The compiled operators cannot be used here; the message says why."""


@dataclass(frozen=True)
class _LoadResult:
    module: ModuleType | None
    spec: _build.BuildSpec | None
    error: str | None


def default_with_cuda() -> bool:
    """Whether this process's build includes the CUDA kernels."""
    return _build.cuda_toolkit() is not None


@functools.cache
def _load(with_cuda: bool) -> _LoadResult:
    """Build and import once per process and flavour; a failure is remembered too."""
    try:
        spec = _build.build_spec(with_cuda)
    except FileNotFoundError as exc:
        warnings.warn(f'spairkit ops: {exc}; using the PyTorch reference operators',
                      RuntimeWarning, stacklevel=3)
        return _LoadResult(None, None, str(exc))
    if os.environ.get(NO_BUILD_ENV) == '1' and not spec.library.exists():
        return _LoadResult(None, spec, f'not built and {NO_BUILD_ENV}=1')
    try:
        module = _build.load_extension(spec)
    except Exception as exc:  # noqa: BLE001 - any build failure means "use the reference"
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        reason = f'building the compiled operators failed ({first.strip()[:200]})'
        warnings.warn(f'spairkit ops: {reason}; using the PyTorch reference operators. '
                      f'Compiler output: {spec.log_file}; retry with '
                      f'`spairkit ops build --verbose`', RuntimeWarning, stacklevel=3)
        return _LoadResult(None, spec, reason)
    return _LoadResult(module, spec, None)


def load(kind: str = 'cpp') -> ModuleType:
    """The extension module for backend ``kind`` ('cpp' or 'cuda'), building it once.

    Raises :class:`CompiledOpsUnavailable` with the reason when it cannot be used.
    """
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {KINDS}, got {kind!r}')
    if kind == 'cuda' and not torch.cuda.is_available():
        raise CompiledOpsUnavailable('no CUDA device is visible to PyTorch')
    result = _load(default_with_cuda())
    if result.module is None:
        raise CompiledOpsUnavailable(result.error)
    if kind == 'cuda' and not result.module.with_cuda():
        raise CompiledOpsUnavailable('the build has no CUDA kernels (no CUDA toolkit found)')
    return result.module


def is_available(kind: str) -> bool:
    """Whether backend ``kind`` ('cpp' or 'cuda') can run; builds on the first call."""
    try:
        load(kind)
    except CompiledOpsUnavailable:
        return False
    return True


def build(with_cuda: bool | None = None, verbose: bool = False) -> _build.BuildSpec:
    """Build ahead of time (``spairkit ops build``); errors propagate, nothing is cached.

    Returns the spec, whose ``build_dir`` and ``library`` say where the build lives.
    """
    if with_cuda is None:
        with_cuda = default_with_cuda()
    spec = _build.build_spec(with_cuda)
    _build.load_extension(spec, verbose=verbose)
    return spec


def build_status() -> dict[str, object]:
    """Where the build of this process lives and whether it exists; compiles nothing."""
    with_cuda = default_with_cuda()
    try:
        spec = _build.build_spec(with_cuda)
    except FileNotFoundError as exc:
        return {'with_cuda': with_cuda, 'built': False, 'error': str(exc),
                'build_dir': None, 'library': None}
    return {'with_cuda': with_cuda, 'built': spec.library.exists(), 'error': None,
            'build_dir': str(spec.build_dir), 'library': str(spec.library),
            'sources': str(spec.source_dir)}


# ----------------------------------------------------------------- dtype handling
def _op_dtype(device: torch.device, *tensors: torch.Tensor | None) -> torch.dtype:
    """The dtype the kernels run in (see the module docstring)."""
    dtypes = {t.dtype for t in tensors if t is not None}
    if device.type == 'cuda' and len(dtypes) == 1:
        (only,) = dtypes
        if only in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
            return only
    return compute_dtype(*tensors)


def _module_for(device: torch.device) -> ModuleType:
    return load('cuda' if device.type == 'cuda' else 'cpp')


# -------------------------------------------------------------------- sparse conv
@dataclass(frozen=True)
class SparsePlan:
    """Active sites of a mask and their neighbours for one kernel size and dilation.

    ``active`` (P,) int64 flat pixel indices, ``nbr`` (P, k*k) int32 rows of the active
    neighbours (-1: clean or outside). ``source`` identifies the mask it was built from
    (data pointer and version counter), so using it with another mask is an error.
    """

    active: torch.Tensor
    nbr: torch.Tensor
    kernel_size: int
    dilation: int
    shape: tuple[int, ...]
    source: tuple[int, int]

    @property
    def num_active(self) -> int:
        return int(self.active.shape[0])

    def check(self, mask: torch.Tensor, kernel_size: int, dilation: int) -> None:
        if (kernel_size, dilation) != (self.kernel_size, self.dilation):
            raise ValueError(
                f'plan was built for kernel {self.kernel_size}, dilation {self.dilation}; '
                f'the call uses kernel {kernel_size}, dilation {dilation}')
        if tuple(mask.shape) != self.shape or _mask_identity(mask) != self.source:
            raise ValueError('plan was built from a different mask (or the mask changed '
                             'in place since); build a new one with sparse_plan()')
        if mask.device != self.active.device:
            raise ValueError(f'plan is on {self.active.device}, mask on {mask.device}')


def _mask_identity(mask: torch.Tensor) -> tuple[int, int]:
    # Inference tensors (made under torch.inference_mode) have no version counter;
    # they cannot be modified in place outside inference mode either, so the data
    # pointer alone identifies them.
    return (mask.data_ptr(), -1 if mask.is_inference() else mask._version)


def sparse_plan(mask: torch.Tensor, kernel_size: int = 3, dilation: int = 1) -> SparsePlan:
    """Build the active-site plan of ``mask`` (``(N,1,H,W)``, degraded where > 0.5)."""
    if mask.dim() != 4 or mask.shape[1] != 1:
        raise ValueError(f'mask must be (N, 1, H, W), got {tuple(mask.shape)}')
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'kernel_size must be odd and >= 1, got {kernel_size}')
    if dilation < 1:
        raise ValueError(f'dilation must be >= 1, got {dilation}')
    ext = _module_for(mask.device)
    active, nbr = ext.sparse_plan(binary_mask(mask).contiguous(), kernel_size, dilation)
    return SparsePlan(active, nbr, kernel_size, dilation, tuple(mask.shape),
                      _mask_identity(mask))


class _SparseConv2dFunction(torch.autograd.Function):
    """Forward and backward of the compiled sparse conv on a fixed plan."""

    @staticmethod
    def forward(ctx, x, weight, bias, active, nbr, dilation):
        ext = _module_for(x.device)
        out, saved = ext.sparse_conv_forward(x, weight, bias, active, nbr, dilation)
        ctx.save_for_backward(saved, weight, active, nbr)
        ctx.dilation = dilation
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        saved, weight, active, nbr = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        ext = _module_for(grad_out.device)
        gx, gw, gb = ext.sparse_conv_backward(grad_out, saved, weight, active, nbr,
                                              ctx.dilation, need_x, need_w, need_b)
        return gx, gw, gb, None, None, None


def sparse_conv2d(x: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, dilation: int = 1, *,
                  plan: SparsePlan | None = None) -> torch.Tensor:
    """Submanifold sparse convolution, SPAIR eq. (2), on the compiled kernels.

    Same contract as :func:`spairkit.ops.reference.sparse_conv2d`; ``plan`` (from
    :func:`sparse_plan` on the same mask) skips rebuilding the active-site index.
    """
    check_sparse_conv2d_args(x, mask, weight, bias, dilation)
    k = weight.shape[-1]
    if plan is None:
        plan = sparse_plan(mask, k, dilation)
    else:
        plan.check(mask, k, dilation)
    dtype = _op_dtype(x.device, x, weight, bias)
    with torch.autocast(device_type=x.device.type, enabled=False):
        out = _SparseConv2dFunction.apply(
            x.to(dtype), weight.to(dtype), None if bias is None else bias.to(dtype),
            plan.active, plan.nbr, dilation)
    return out.to(x.dtype)


# ---------------------------------------------------------- criss-cross attention
class _CrissCrossFunction(torch.autograd.Function):
    """Forward and backward of the compiled masked criss-cross attention."""

    @staticmethod
    def forward(ctx, query, key, value, weights, mask, scale):
        ext = _module_for(value.device)
        out, stats = ext.cca_forward(query, key, value, mask, weights, scale)
        ctx.save_for_backward(query, key, value, weights, mask, stats)
        ctx.scale = scale
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        query, key, value, weights, mask, stats = ctx.saved_tensors
        ext = _module_for(grad_out.device)
        gq, gk, gv, gw = ext.cca_backward(grad_out, query, key, value, mask, weights,
                                          ctx.scale, stats)
        return gq, gk, gv, gw, None, None


def masked_criss_cross_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 mask: torch.Tensor, weights: torch.Tensor,
                                 scale: float = 1.0) -> torch.Tensor:
    """SNL's masked directional attention, SPAIR eqs. (3)-(5), on the compiled kernels.

    Same contract as :func:`spairkit.ops.reference.masked_criss_cross_attention`.
    """
    check_masked_criss_cross_attention_args(query, key, value, mask, weights, scale)
    dtype = _op_dtype(value.device, query, key, value, weights)
    m = binary_mask(mask).contiguous()
    with torch.autocast(device_type=value.device.type, enabled=False):
        out = _CrissCrossFunction.apply(query.to(dtype), key.to(dtype), value.to(dtype),
                                        weights.to(dtype), m, float(scale))
    return out.to(value.dtype)
