"""Sparse convolution (SC, SPAIR eq. (2)), all of its Python in one place.

``out = M * (conv2d(x * M, weight, padding=dilation*(k//2), dilation) + bias)``:
stride 1, odd square kernel, "same" size, submanifold semantics (only degraded
neighbours contribute, zero at clean pixels).

Sections, in reading order:

1. argument check (:func:`check_sparse_conv2d_args`, shared by every implementation);
2. the reference (:func:`reference_sparse_conv2d`): the definition, pure PyTorch;
3. the dense-equivalent formulation (:func:`dense_sparse_conv2d`), for export;
4. the compiled backend: the active-site plan (:class:`SparsePlan`), the
   ``torch.library`` ops around the pybind11 entry points of
   ``cuda_ops/bindings/sparse_conv.cpp`` (``spairkit::sparse_plan``,
   ``spairkit::sparse_conv_forward``, ``spairkit::sparse_conv_backward``) with their
   fake (shape) functions and autograd, and :func:`compiled_sparse_conv2d`;
5. dispatch: the public :func:`sparse_conv2d` and :func:`sparse_plan`.

The plan is data dependent (its length is the number of degraded pixels), so it is
built by its own op before the convolution and passed to it as tensors; the
convolution ops themselves have shapes given by their inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from spairkit.ops._common import (
    binary_mask,
    check_mask,
    check_same_device,
    compute_dtype,
    extension,
    full_precision,
    kernel_dtype,
    library_ops,
    memory_format_of,
    no_autocast,
    require_4d,
    require_float,
)
from spairkit.ops.backend import (
    compiled_module,
    current_backend,
    dense_module,
    dense_ops_enabled,
)

__all__ = [
    'SparsePlan',
    'check_sparse_conv2d_args',
    'compiled_sparse_conv2d',
    'compiled_sparse_plan',
    'dense_sparse_conv2d',
    'reference_sparse_conv2d',
    'sparse_conv2d',
    'sparse_plan',
]


# ------------------------------------------------------------------------ check
def check_sparse_conv2d_args(x: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                             bias: torch.Tensor | None, dilation: int) -> None:
    """Raise ValueError naming the offending argument if the inputs break the contract."""
    require_float('x', x)
    require_4d('x', x)
    require_float('weight', weight)
    n, c, h, w = x.shape
    check_mask(mask, n, h, w, f'x {tuple(x.shape)}')
    if weight.dim() != 4:
        raise ValueError(f'weight must be 4-D (C_out, C_in, k, k), got {tuple(weight.shape)}')
    c_out, c_in, kh, kw = weight.shape
    if c_in != c:
        raise ValueError(f'weight has {c_in} input channels but x has {c} channels')
    if kh != kw or kh % 2 == 0:
        raise ValueError(f'weight must have an odd square kernel, got {kh}x{kw}')
    if bias is not None:
        require_float('bias', bias)
        if tuple(bias.shape) != (c_out,):
            raise ValueError(f'bias must have shape ({c_out},), got {tuple(bias.shape)}')
    if isinstance(dilation, bool) or not isinstance(dilation, int) or dilation < 1:
        raise ValueError(f'dilation must be an integer >= 1, got {dilation!r}')
    check_same_device(x=x, mask=mask, weight=weight, bias=bias)


# -------------------------------------------------------------------- reference
def reference_sparse_conv2d(x: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                            bias: torch.Tensor | None = None,
                            dilation: int = 1) -> torch.Tensor:
    """Submanifold sparse convolution, SPAIR eq. (2).

    ``out = M * (conv2d(x * M, weight, padding=dilation*(k//2), dilation) + bias)``:
    stride 1, "same" size, only degraded neighbours contribute and the output is zero
    at clean pixels. The reference computes the dense convolution (it is the oracle,
    not the fast path) but skips images that have no degraded pixel at all.
    """
    check_sparse_conv2d_args(x, mask, weight, bias, dilation)
    out_dtype = x.dtype
    dtype = compute_dtype(x, weight, bias)
    m = binary_mask(mask)
    n = x.shape[0]
    k = weight.shape[-1]
    with no_autocast(x.device):
        xc = x.to(dtype)
        wc = weight.to(dtype)
        bc = None if bias is None else bias.to(dtype)
        active = m.flatten(1).any(dim=1)
        n_active = int(active.sum())
        out_shape = (n, weight.shape[0], x.shape[2], x.shape[3])
        if n_active == n:
            idx = None
        elif n_active == 0:
            # The output is all zeros; computing one (all-clean, hence zero) image keeps
            # it in the autograd graph, so backward gives zero gradients, not None.
            idx = torch.zeros(1, dtype=torch.long, device=x.device)
        else:
            idx = active.nonzero().squeeze(1)
        xs, ms = (xc, m) if idx is None else (xc[idx], m[idx])
        mf = ms.to(dtype)
        y = F.conv2d(xs * mf, wc, bc, stride=1, padding=dilation * (k // 2), dilation=dilation)
        y = y * mf
        if idx is not None:
            y = y.new_zeros(out_shape).index_put((idx,), y)
    return y.to(out_dtype)


# --------------------------------------------------------- dense-equivalent form
def dense_sparse_conv2d(x: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                        bias: torch.Tensor | None = None, dilation: int = 1) -> torch.Tensor:
    """SC, eq. (2), densely (for export): ``M * (conv2d(x * M, weight) + bias)`` over the
    whole image, no data-dependent shortcut; see :mod:`spairkit.ops.dense`."""
    check_sparse_conv2d_args(x, mask, weight, bias, dilation)
    dtype = compute_dtype(x, weight, bias)
    k = weight.shape[-1]
    with full_precision(x.device):
        m = binary_mask(mask).to(dtype)
        y = F.conv2d(x.to(dtype) * m, weight.to(dtype),
                     None if bias is None else bias.to(dtype),
                     padding=dilation * (k // 2), dilation=dilation)
        y = y * m
    return y.to(x.dtype)


# ------------------------------------------------------------- compiled: plan
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


def compiled_sparse_plan(mask: torch.Tensor, kernel_size: int = 3,
                         dilation: int = 1) -> SparsePlan:
    """Build the active-site plan of ``mask`` (``(N,1,H,W)``, degraded where > 0.5)."""
    if mask.dim() != 4 or mask.shape[1] != 1:
        raise ValueError(f'mask must be (N, 1, H, W), got {tuple(mask.shape)}')
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'kernel_size must be odd and >= 1, got {kernel_size}')
    if dilation < 1:
        raise ValueError(f'dilation must be >= 1, got {dilation}')
    active, nbr = library_ops(mask.device).sparse_plan(binary_mask(mask).contiguous(),
                                                       kernel_size, dilation)
    return SparsePlan(active, nbr, kernel_size, dilation, tuple(mask.shape),
                      _mask_identity(mask))


# ----------------------------------------------------- compiled: torch.library
def _is_full(x: torch.Tensor, active: torch.Tensor) -> bool:
    """Whether every pixel is active (the kernels then run the dense convolution)."""
    total = x.shape[0] * x.shape[2] * x.shape[3]
    return active.shape[0] == total and total > 0


def _plan_impl(mask, kernel_size, dilation):
    active, nbr = extension(mask.device).sparse_plan(mask, kernel_size, dilation)
    return active, nbr


def _plan_fake(mask, kernel_size, dilation):
    p = torch.library.get_ctx().new_dynamic_size()  # the number of degraded pixels
    return (mask.new_empty(p, dtype=torch.long),
            mask.new_empty(p, kernel_size * kernel_size, dtype=torch.int32))


def _forward_impl(x, weight, bias, active, nbr, dilation):
    out, saved = extension(x.device).sparse_conv_forward(x, weight, bias, active, nbr,
                                                         dilation)
    if _is_full(x, active):
        # The kernels save x itself for the dense backward of a full mask; an op may
        # not return an alias of its input, so the autograd context keeps x instead.
        saved = x.new_empty(0, x.shape[1])
    return out, saved


def _forward_fake(x, weight, bias, active, nbr, dilation):
    n, cin, h, w = x.shape
    out = x.new_empty(n, weight.shape[0], h, w).contiguous(memory_format=memory_format_of(x))
    rows = 0 if _is_full(x, active) else active.shape[0]
    return out, x.new_empty(rows, cin)


def _backward_impl(grad_out, saved, weight, active, nbr, dilation, need_input, need_weight,
                   need_bias):
    grads = extension(grad_out.device).sparse_conv_backward(
        grad_out, saved, weight, active, nbr, dilation, need_input, need_weight, need_bias)
    # An op returns tensors: a gradient not asked for is an empty placeholder.
    return tuple(weight.new_empty(0) if g is None else g for g in grads)


def _backward_fake(grad_out, saved, weight, active, nbr, dilation, need_input, need_weight,
                   need_bias):
    n, _, h, w = grad_out.shape
    cout, cin = weight.shape[:2]
    gx = (grad_out.new_empty(n, cin, h, w).contiguous(memory_format=memory_format_of(grad_out))
          if need_input else weight.new_empty(0))
    gw = torch.empty_like(weight, memory_format=torch.contiguous_format) if need_weight \
        else weight.new_empty(0)
    gb = weight.new_empty(cout) if need_bias else weight.new_empty(0)
    return gx, gw, gb


def _setup_context(ctx, inputs, output):
    x, weight, _, active, nbr, dilation = inputs
    _, saved = output
    ctx.mark_non_differentiable(saved)
    ctx.save_for_backward(x if _is_full(x, active) else saved, weight, active, nbr)
    ctx.dilation = dilation


def _backward(ctx, grad_out, _grad_saved):
    saved, weight, active, nbr = ctx.saved_tensors
    need = ctx.needs_input_grad[:3]
    grads = library_ops(grad_out.device).sparse_conv_backward(
        grad_out, saved, weight, active, nbr, ctx.dilation, *need)
    return (*(g if n else None for g, n in zip(grads, need)), None, None, None)


def register_ops() -> None:
    """Define ``spairkit::sparse_plan``, ``sparse_conv_forward`` and
    ``sparse_conv_backward``; called once, by :func:`spairkit.ops.compiled.register_ops`."""
    plan = torch.library.custom_op(
        'spairkit::sparse_plan', _plan_impl, mutates_args=(),
        schema='(Tensor mask, int kernel_size, int dilation) -> (Tensor, Tensor)')
    plan.register_fake(_plan_fake)
    forward = torch.library.custom_op(
        'spairkit::sparse_conv_forward', _forward_impl, mutates_args=(),
        schema='(Tensor x, Tensor weight, Tensor? bias, Tensor active, Tensor nbr, '
               'int dilation) -> (Tensor, Tensor)')
    forward.register_fake(_forward_fake)
    backward = torch.library.custom_op(
        'spairkit::sparse_conv_backward', _backward_impl, mutates_args=(),
        schema='(Tensor grad_out, Tensor saved, Tensor weight, Tensor active, Tensor nbr, '
               'int dilation, bool need_input, bool need_weight, bool need_bias) '
               '-> (Tensor, Tensor, Tensor)')
    backward.register_fake(_backward_fake)
    forward.register_autograd(_backward, setup_context=_setup_context)


def compiled_sparse_conv2d(x: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                           bias: torch.Tensor | None = None, dilation: int = 1, *,
                           plan: SparsePlan | None = None) -> torch.Tensor:
    """Submanifold sparse convolution, SPAIR eq. (2), on the compiled kernels.

    Same contract as :func:`reference_sparse_conv2d`; ``plan`` (from
    :func:`compiled_sparse_plan` on the same mask) skips rebuilding the active-site index.
    """
    check_sparse_conv2d_args(x, mask, weight, bias, dilation)
    k = weight.shape[-1]
    if plan is None:
        plan = compiled_sparse_plan(mask, k, dilation)
    else:
        plan.check(mask, k, dilation)
    dtype = kernel_dtype(x.device, x, weight, bias)
    with no_autocast(x.device):
        out, _ = library_ops(x.device).sparse_conv_forward(
            x.to(dtype), weight.to(dtype), None if bias is None else bias.to(dtype),
            plan.active, plan.nbr, dilation)
    return out.to(x.dtype)


# --------------------------------------------------------------------- dispatch
def sparse_conv2d(x: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, dilation: int = 1, *,
                  plan=None) -> torch.Tensor:
    """Submanifold sparse convolution, SPAIR eq. (2); see
    :func:`reference_sparse_conv2d` for the exact definition.

    ``plan`` (from :func:`sparse_plan` on the same mask, kernel size and dilation)
    lets the layers of a block share one active-site index; ``None`` builds it.
    """
    if dense_ops_enabled():
        return dense_module().sparse_conv2d(x, mask, weight, bias, dilation)  # dense_* above
    check_sparse_conv2d_args(x, mask, weight, bias, dilation)
    if current_backend(x.device) == 'torch':
        return reference_sparse_conv2d(x, mask, weight, bias, dilation)
    # The compiled backend's entry point is compiled_sparse_conv2d above.
    return compiled_module().sparse_conv2d(x, mask, weight, bias, dilation, plan=plan)


def sparse_plan(mask: torch.Tensor, kernel_size: int = 3, dilation: int = 1):
    """The active-site index of ``mask`` for the backend that will run, or ``None``.

    Build it once per mask and pass it to every :func:`sparse_conv2d` with that mask,
    kernel size and dilation. The reference needs no index, so under the ``torch``
    backend this returns ``None`` (which :func:`sparse_conv2d` accepts).
    """
    if dense_ops_enabled() or current_backend(mask.device) == 'torch':
        return None
    return compiled_module().sparse_plan(mask, kernel_size, dilation)
