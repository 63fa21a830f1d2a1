"""The compact (site-list) path of the mask-guided blocks: compute that follows the mask.

The public operators of SPEC.md take and return full ``(N, C, H, W)`` maps, so a block
built from them pays ``O(H*W)`` per layer (a zero-filled output, a full-size
concatenation) even where nothing is degraded. On the compact path a decoder level
instead gathers its degraded *sites* once into rows ``(P, C)`` (P degraded pixels, in
row-major order), SC and SNL work on those rows, reading the dense map only at clean
pixels (SNL's keys and values, the clean neighbours of its fusion-weight convolution),
and one scatter writes the rows back at the level's exit; clean pixels leave
untouched.

Everything the blocks need about a mask level is one :class:`SitePlan`, built once per
level and forward by :func:`site_plan` (Net_R builds the pyramid of them next to the
mask pyramid) and passed explicitly; nothing is cached globally.

Operators (each dispatches per call through :func:`spairkit.ops.backend.current_backend`:
the compiled backend of the tensors' device, or the pure-PyTorch oracle under
``SPAIRKIT_OPS_BACKEND=torch``):

* :func:`gather_sites` / :func:`scatter_sites`: dense map <-> rows;
* :func:`site_conv2d`: submanifold convolution on the rows (SC's layers, any 1x1);
* :func:`halo_conv2d`: a *dense* convolution evaluated at the sites only, degraded
  neighbours from the rows, clean ones from the dense map (SNL's fusion weights);
* :func:`site_criss_cross`: masked criss-cross attention with the rows as queries.

A full mask runs the dense convolution on the rows (which then are the whole image
in channels-last order): it is the same operator, and the backend's dense kernels are
faster than a gather-GEMM over every pixel.

The whole family lives in this module, in reading order: the plan (:class:`SitePlan`,
its tensor-operation definition :func:`reference_site_plan` and the compiled builder);
the pure-PyTorch oracle of every operator (``reference_*``, compact where that is
simple; its criss-cross is the dense reference operator on the scattered queries, so
the compact kernels are checked against SPEC.md's operator itself); the compiled
backend (the ``torch.library`` ops ``spairkit::site_plan``, ``gather_sites``,
``scatter_sites``, ``scatter_sites_zero``, ``site_conv_forward``/``_backward``,
``halo_cols``/``_backward``, ``cca_sites_forward``/``_backward`` around the pybind11
entry points of ``cuda_ops/bindings/compact.cpp``, with fake functions and autograd,
and the ``compiled_*`` wrappers: CPU computes in float32, float64 when an input is,
CUDA keeps one shared reduced-precision dtype, autocast is off inside; every backward
is compact and in gather form, without atomics); and the dispatching public functions.

Under :func:`torch.compile` the plan is built inside the graph by ``spairkit::site_plan``,
whose output sizes are data dependent (declared with ``new_dynamic_size``). The two
shortcuts that branch on the number of sites (a full mask's dense convolution, an
empty plan's scatter) cannot be decided while tracing and are not taken there: the
traced graph always runs the site kernels, which compute the same operator.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from spairkit.ops._common import (
    binary_mask,
    extension,
    kernel_dtype,
    library_ops,
    no_autocast,
)
from spairkit.ops.backend import current_backend
from spairkit.ops.criss_cross import reference_masked_criss_cross_attention

__all__ = [
    'LineLists',
    'SiteFeatures',
    'SitePlan',
    'compiled_gather_sites',
    'compiled_halo_conv2d',
    'compiled_scatter_sites',
    'compiled_site_conv2d',
    'compiled_site_criss_cross',
    'gather_sites',
    'halo_conv2d',
    'scatter_sites',
    'site_conv2d',
    'site_criss_cross',
    'reference_gather_sites',
    'reference_halo_conv2d',
    'reference_scatter_sites',
    'reference_site_conv2d',
    'reference_site_criss_cross',
    'reference_site_plan',
    'site_plan',
]


class LineLists(NamedTuple):
    """The busy lines (rows or columns holding a degraded and a clean pixel) of a pass.

    ``q_ptr`` (L+1): the queries of line ``l`` are ``q_idx[q_ptr[l]:q_ptr[l+1]]``
    (site rows, in position order along the line); ``q_split`` (Q): the number of
    clean keys before each query on its line (the left/up ray is the prefix);
    ``k_ptr`` (L+1), ``k_pix`` (K): flat pixel indices ``n*H*W + i*W + j`` of the clean
    keys of each line, in position order (so the keys of a line are one block of the
    list). All int64.
    """

    q_ptr: torch.Tensor
    q_idx: torch.Tensor
    q_split: torch.Tensor
    k_ptr: torch.Tensor
    k_pix: torch.Tensor


@dataclass(frozen=True)
class SitePlan:
    """Everything the compact path needs about one mask level.

    ``active`` (P,) int64 flat pixel indices of the degraded sites (row-major, the row
    order of every compact tensor); ``row_of`` (N*H*W,) int64 site row of each pixel
    or -1 (clean); ``nbr`` (P, k*k) int32 site row of each neighbour of a
    ``kernel_size`` x ``kernel_size`` kernel (-1: clean or outside); ``rows`` /
    ``cols`` the criss-cross line lists of the row and column passes.
    """

    shape: tuple[int, int, int]
    active: torch.Tensor
    row_of: torch.Tensor
    nbr: torch.Tensor
    kernel_size: int
    dilation: int
    rows: LineLists
    cols: LineLists

    @property
    def num_sites(self) -> int:
        """P (a symbolic size while torch.compile traces a plan built in the graph)."""
        return self.active.shape[0]

    @property
    def full(self) -> bool:
        """Whether every pixel is a site (the rows are the image, channels last).

        Always False while torch.compile traces: the count is data dependent there, and
        the site kernels compute the same thing (see the module docstring).
        """
        if torch.compiler.is_compiling():
            return False
        n, h, w = self.shape
        return self.num_sites == n * h * w and self.num_sites > 0

    @property
    def device(self) -> torch.device:
        return self.active.device

    def neighbours(self, kernel_size: int, dilation: int = 1) -> torch.Tensor:
        """The neighbour table for another kernel (this plan's own when it matches)."""
        if (kernel_size, dilation) == (self.kernel_size, self.dilation):
            return self.nbr
        return _neighbours(self.active, self.row_of, self.shape, kernel_size, dilation)

    def mask(self) -> torch.Tensor:
        """The (N, 1, H, W) bool mask the plan was built from."""
        n, h, w = self.shape
        return (self.row_of >= 0).view(n, 1, h, w)

    def check(self, x: torch.Tensor, what: str = 'x') -> None:
        n, h, w = self.shape
        if x.dim() != 4 or (x.shape[0], x.shape[2], x.shape[3]) != (n, h, w):
            raise ValueError(f'{what} of shape {tuple(x.shape)} does not match the plan '
                             f'(N, H, W) = {self.shape}')
        if x.device != self.device:
            raise ValueError(f'{what} is on {x.device}, the plan on {self.device}')


class SiteFeatures(NamedTuple):
    """A feature map on the compact path: ``dense`` holds the clean pixels (and the
    values the sites had when they were gathered), ``rows`` the current site
    features (P, C) in the order of ``plan.active``."""

    dense: torch.Tensor
    rows: torch.Tensor
    plan: SitePlan


# ------------------------------------------------------------------------ plan
def _neighbours(active: torch.Tensor, row_of: torch.Tensor, shape: tuple[int, int, int],
                kernel_size: int, dilation: int) -> torch.Tensor:
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'kernel_size must be odd and >= 1, got {kernel_size}')
    if dilation < 1:
        raise ValueError(f'dilation must be >= 1, got {dilation}')
    _, h, w = shape
    hw = h * w
    img, local = active // hw, active % hw
    i, j = local // w, local % w
    r = kernel_size // 2
    offs = torch.arange(-r, r + 1, device=active.device) * dilation
    ii = i.view(-1, 1, 1) + offs.view(1, -1, 1)
    jj = j.view(-1, 1, 1) + offs.view(1, 1, -1)
    inside = (ii >= 0) & (ii < h) & (jj >= 0) & (jj < w)
    idx = img.view(-1, 1, 1) * hw + ii.clamp(0, h - 1) * w + jj.clamp(0, w - 1)
    nbr = torch.where(inside, row_of[idx], torch.full_like(idx, -1))
    return nbr.reshape(active.shape[0], kernel_size * kernel_size).to(torch.int32).contiguous()


def _line_selection(m: torch.Tensor, transpose: bool):
    """Busy lines of the rows (or columns) of ``m`` (N, H, W): per line and position
    whether it is a query / a key of that line, as (N, A, S) views along the lines."""
    lines = m.transpose(1, 2) if transpose else m  # (N, A, S): A lines of length S
    deg = lines.sum(dim=2)  # (N, A)
    busy = (deg > 0) & (deg < lines.shape[2])
    return lines, deg, busy, busy.unsqueeze(2) & lines, busy.unsqueeze(2) & ~lines


def _line_lists(m: torch.Tensor, row_of: torch.Tensor, transpose: bool) -> LineLists:
    """Line lists of the rows (``transpose=False``) or columns of ``m`` (N, H, W)."""
    n, h, w = m.shape
    lines, deg, busy, q_sel, k_sel = _line_selection(m, transpose)
    length = lines.shape[2]
    # nonzero walks (n, line, position) in order: by line, then along it.
    qn, qa, qs = q_sel.nonzero(as_tuple=True)
    kn, ka, ks = k_sel.nonzero(as_tuple=True)
    if transpose:
        q_pix = qn * (h * w) + qs * w + qa
        k_pix = kn * (h * w) + ks * w + ka
    else:
        q_pix = qn * (h * w) + qa * w + qs
        k_pix = kn * (h * w) + ka * w + ks
    li = lines.long()
    pos = torch.arange(length, device=m.device)
    clean_before = pos - (li.cumsum(dim=2) - li)  # clean pixels before each position
    zero = torch.zeros(1, dtype=torch.long, device=m.device)
    q_ptr = torch.cat([zero, deg[busy].cumsum(0)])
    k_ptr = torch.cat([zero, (length - deg[busy]).cumsum(0)])
    return LineLists(q_ptr.contiguous(), row_of[q_pix].contiguous(),
                     clean_before[q_sel].contiguous(), k_ptr.contiguous(), k_pix.contiguous())


def _check_plan_mask(mask: torch.Tensor) -> None:
    if not isinstance(mask, torch.Tensor) or mask.dim() != 4 or mask.shape[1] != 1:
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f'mask must be (N, 1, H, W), got {shape}')


def reference_site_plan(mask: torch.Tensor, kernel_size: int = 3,
                        dilation: int = 1) -> SitePlan:
    """:func:`site_plan` written with vectorised tensor operations (any device).

    The definition of the plan; the CPU build of the compiled ops has a single-pass
    builder that gives the same tensors (tested), since these operations cost a few
    milliseconds per level on a large image.
    """
    _check_plan_mask(mask)
    m = binary_mask(mask)[:, 0]
    n, h, w = m.shape
    flat = m.reshape(-1)
    active = flat.nonzero().squeeze(1)
    row_of = torch.full((flat.numel(),), -1, dtype=torch.long, device=m.device)
    row_of[active] = torch.arange(active.numel(), device=m.device)
    nbr = _neighbours(active, row_of, (n, h, w), kernel_size, dilation)
    return SitePlan((n, h, w), active.contiguous(), row_of, nbr, kernel_size, dilation,
                    _line_lists(m, row_of, False), _line_lists(m, row_of, True))


def site_plan(mask: torch.Tensor, kernel_size: int = 3, dilation: int = 1) -> SitePlan:
    """The :class:`SitePlan` of ``mask`` ``(N, 1, H, W)`` (degraded where > 0.5).

    ``kernel_size``/``dilation`` choose the neighbour table kept in the plan (SC's
    3x3). A CPU mask under the compiled backend uses the compiled single-pass builder,
    anything else :func:`reference_site_plan`; both give the same plan.
    """
    _check_plan_mask(mask)
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'kernel_size must be odd and >= 1, got {kernel_size}')
    if dilation < 1:
        raise ValueError(f'dilation must be >= 1, got {dilation}')
    if mask.device.type != 'cpu' or current_backend(mask.device) != 'cpp':
        return reference_site_plan(mask, kernel_size, dilation)
    n, _, h, w = mask.shape
    t = library_ops(mask.device).site_plan(binary_mask(mask), kernel_size, dilation)
    return SitePlan((n, h, w), t[0], t[1], t[2], kernel_size, dilation,
                    LineLists(*t[3:8]), LineLists(*t[8:13]))


# ------------------------------------------------------------------ reference
def _pixel_rows(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) as an (N, H*W, C) view (no copy)."""
    return x.flatten(2).transpose(1, 2)


def _split(active: torch.Tensor, hw: int) -> tuple[torch.Tensor, torch.Tensor]:
    return active // hw, active % hw


def reference_gather_sites(x: torch.Tensor, plan) -> torch.Tensor:
    n_idx, p_idx = _split(plan.active, x.shape[2] * x.shape[3])
    return _pixel_rows(x)[n_idx, p_idx]


def reference_scatter_sites(x: torch.Tensor, rows: torch.Tensor, plan) -> torch.Tensor:
    n_idx, p_idx = _split(plan.active, x.shape[2] * x.shape[3])
    out = _pixel_rows(x).index_put((n_idx, p_idx), rows.to(x.dtype))
    return out.transpose(1, 2).reshape(x.shape)


def _wmat(weight: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    cout, cin, k, _ = weight.shape
    return weight.permute(0, 2, 3, 1).reshape(cout, k * k * cin).to(dtype)


def reference_site_conv2d(rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                nbr: torch.Tensor) -> torch.Tensor:
    p, c = rows.shape
    padded = torch.cat([rows, rows.new_zeros(1, c)])  # row P: the zero neighbour
    idx = torch.where(nbr >= 0, nbr.long(), torch.full_like(nbr, p, dtype=torch.long))
    cols = padded[idx].reshape(p, idx.shape[1] * c)
    return F.linear(cols, _wmat(weight, rows.dtype),
                    None if bias is None else bias.to(rows.dtype))


def reference_halo_conv2d(rows: torch.Tensor, dense: torch.Tensor, weight: torch.Tensor,
                bias: torch.Tensor | None, plan, dilation: int) -> torch.Tensor:
    p, c = rows.shape
    _, h, w = plan.shape
    k = weight.shape[-1]
    nbr = plan.neighbours(k, dilation).long()
    # Pixel of every (site, tap), clamped inside the image, and whether it is inside.
    img, local = _split(plan.active, h * w)
    i, j = local // w, local % w
    r = k // 2
    offs = torch.arange(-r, r + 1, device=rows.device) * dilation
    ii = (i.view(-1, 1, 1) + offs.view(1, -1, 1)).expand(p, k, k).reshape(p, k * k)
    jj = (j.view(-1, 1, 1) + offs.view(1, 1, -1)).expand(p, k, k).reshape(p, k * k)
    inside = (ii >= 0) & (ii < h) & (jj >= 0) & (jj < w)
    pix = ii.clamp(0, h - 1) * w + jj.clamp(0, w - 1)
    from_dense = _pixel_rows(dense.to(rows.dtype))[img.view(-1, 1).expand(p, k * k), pix]
    padded = torch.cat([rows, rows.new_zeros(1, c)])
    from_rows = padded[torch.where(nbr >= 0, nbr, torch.full_like(nbr, p))]
    cols = torch.where((nbr >= 0).unsqueeze(-1), from_rows,
                       from_dense * inside.unsqueeze(-1).to(rows.dtype))
    return F.linear(cols.reshape(p, k * k * c), _wmat(weight, rows.dtype),
                    None if bias is None else bias.to(rows.dtype))


def reference_site_criss_cross(q_rows: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     w_rows: torch.Tensor, plan, scale: float) -> torch.Tensor:
    mask = plan.mask()
    # Queries and weights matter at degraded pixels only; elsewhere any value will do.
    query = reference_scatter_sites(torch.zeros_like(key), q_rows.to(key.dtype), plan)
    n, _, h, w = value.shape
    weights = reference_scatter_sites(value.new_zeros(n, 4, h, w), w_rows.to(value.dtype), plan)
    out = reference_masked_criss_cross_attention(query, key, value, mask, weights, scale)
    return reference_gather_sites(out, plan)


# ------------------------------------------------------- compiled: torch.library
def _plan_impl(mask, kernel_size, dilation):
    return list(extension(mask.device).site_plan(mask, kernel_size, dilation))


def _plan_fake(mask, kernel_size, dilation):
    # Every list length is data dependent: the sites P, and per pass the busy lines L
    # (their pointer arrays have L + 1 entries), their queries Q and their clean keys K.
    ctx = torch.library.get_ctx()
    n, _, h, w = mask.shape
    i64 = dict(dtype=torch.long)
    p = ctx.new_dynamic_size()
    out = [mask.new_empty(p, **i64), mask.new_empty(n * h * w, **i64),
           mask.new_empty(p, kernel_size * kernel_size, dtype=torch.int32)]
    for _ in ('rows', 'cols'):
        ptrs = ctx.new_dynamic_size(min=1)  # L + 1, a size of its own for the tracer
        queries, keys = ctx.new_dynamic_size(), ctx.new_dynamic_size()
        out += [mask.new_empty(ptrs, **i64), mask.new_empty(queries, **i64),
                mask.new_empty(queries, **i64), mask.new_empty(ptrs, **i64),
                mask.new_empty(keys, **i64)]
    return out


def _gather_impl(dense, active):
    return extension(dense.device).gather_sites(dense, active)


def _gather_fake(dense, active):
    return dense.new_empty(active.shape[0], dense.shape[1])


def _gather_setup(ctx, inputs, output):
    dense, active = inputs
    ctx.save_for_backward(active)
    ctx.shape = tuple(dense.shape)


def _gather_backward(ctx, grad):
    (active,) = ctx.saved_tensors
    n, _, h, w = ctx.shape
    return library_ops(grad.device).scatter_sites_zero(grad.contiguous(), active, n, h, w), None


def _scatter_zero_impl(rows, active, n, h, w):
    return extension(rows.device).scatter_sites_zero(rows, active, n, h, w)


def _scatter_zero_fake(rows, active, n, h, w):
    return rows.new_empty(n, rows.shape[1], h, w)


def _scatter_impl(dense, rows, active):
    return extension(dense.device).scatter_sites(dense, rows, active)


def _scatter_fake(dense, rows, active):
    return torch.empty_like(dense)  # the kernels clone dense (same layout)


def _scatter_setup(ctx, inputs, output):
    ctx.save_for_backward(inputs[2])


def _scatter_backward(ctx, grad):
    (active,) = ctx.saved_tensors
    ops = library_ops(grad.device)
    g_rows = ops.gather_sites(grad, active) if ctx.needs_input_grad[1] else None
    g_dense = None
    if ctx.needs_input_grad[0]:
        g_dense = ops.scatter_sites(grad, grad.new_zeros(active.shape[0], grad.shape[1]),
                                    active)
    return g_dense, g_rows, None


def _conv_impl(rows, weight, bias, nbr):
    return extension(rows.device).site_conv_forward(rows, weight, bias, nbr)


def _conv_fake(rows, weight, bias, nbr):
    return rows.new_empty(rows.shape[0], weight.shape[0])


def _conv_backward_impl(grad_out, rows, weight, nbr, need_rows, need_weight, need_bias):
    grads = extension(rows.device).site_conv_backward(grad_out, rows, weight, nbr, need_rows,
                                                      need_weight, need_bias)
    # An op returns tensors: a gradient not asked for is an empty placeholder.
    return tuple(weight.new_empty(0) if g is None else g for g in grads)


def _conv_backward_fake(grad_out, rows, weight, nbr, need_rows, need_weight, need_bias):
    return (rows.new_empty(rows.shape) if need_rows else weight.new_empty(0),
            weight.new_empty(weight.shape) if need_weight else weight.new_empty(0),
            weight.new_empty(weight.shape[0]) if need_bias else weight.new_empty(0))


def _conv_setup(ctx, inputs, output):
    rows, weight, _, nbr = inputs
    ctx.save_for_backward(rows, weight, nbr)


def _conv_backward(ctx, grad):
    rows, weight, nbr = ctx.saved_tensors
    need = ctx.needs_input_grad[:3]
    grads = library_ops(grad.device).site_conv_backward(grad, rows, weight, nbr, *need)
    return (*(g if n else None for g, n in zip(grads, need)), None)


def _halo_impl(rows, dense, active, nbr, row_of, kernel_size, dilation):
    # row_of is an input for the backward only (the forward reads nbr).
    return extension(rows.device).halo_cols(rows, dense, active, nbr, kernel_size, dilation)


def _halo_fake(rows, dense, active, nbr, row_of, kernel_size, dilation):
    return rows.new_empty(rows.shape[0], kernel_size * kernel_size * rows.shape[1])


def _halo_backward_impl(gcols, active, nbr, row_of, n, c, h, w, kernel_size, dilation):
    return extension(gcols.device).halo_cols_backward(gcols, active, nbr, row_of, n, c, h, w,
                                                      kernel_size, dilation)


def _halo_backward_fake(gcols, active, nbr, row_of, n, c, h, w, kernel_size, dilation):
    return gcols.new_empty(gcols.shape[0], c), gcols.new_empty(n, c, h, w)


def _halo_setup(ctx, inputs, output):
    _, dense, active, nbr, row_of, kernel_size, dilation = inputs
    ctx.save_for_backward(active, nbr, row_of)
    ctx.shape = tuple(dense.shape)
    ctx.geometry = (kernel_size, dilation)


def _halo_backward(ctx, gcols):
    active, nbr, row_of = ctx.saved_tensors
    g_rows, g_dense = library_ops(gcols.device).halo_cols_backward(
        gcols.contiguous(), active, nbr, row_of, *ctx.shape, *ctx.geometry)
    return g_rows, g_dense, None, None, None, None, None


def _cca_impl(q_rows, key, value, w_rows, lists, scale):
    return extension(value.device).cca_sites_forward(q_rows, key, value, w_rows, lists, scale)


def _cca_fake(q_rows, key, value, w_rows, lists, scale):
    return value.new_empty(q_rows.shape[0], value.shape[1])


def _cca_backward_impl(grad_out, q_rows, key, value, w_rows, lists, scale):
    gq, gk, gv, gw = extension(value.device).cca_sites_backward(grad_out, q_rows, key, value,
                                                                w_rows, lists, scale)
    if gv is None:
        # key and value were one tensor: the kernels return its whole gradient as gk.
        # An op always returns the same outputs, so the value's share is zeros here.
        gv = torch.zeros_like(value, memory_format=torch.contiguous_format)
    return gq, gk, gv, gw


def _cca_backward_fake(grad_out, q_rows, key, value, w_rows, lists, scale):
    return (q_rows.new_empty(q_rows.shape), key.new_empty(key.shape),
            value.new_empty(value.shape), w_rows.new_empty(w_rows.shape))


def _cca_setup(ctx, inputs, output):
    q_rows, key, value, w_rows, lists, scale = inputs
    ctx.save_for_backward(q_rows, key, value, w_rows, *lists)
    ctx.scale = scale
    ctx.num_lists = len(lists)


def _cca_backward(ctx, grad):
    q_rows, key, value, w_rows, *lists = ctx.saved_tensors
    gq, gk, gv, gw = library_ops(grad.device).cca_sites_backward(
        grad.contiguous(), q_rows, key, value, w_rows, lists, ctx.scale)
    return gq, gk, gv, gw, [None] * ctx.num_lists, None  # the lists' structure, no grads


def register_ops() -> None:
    """Define the compact path's ``torch.library`` ops (``spairkit::site_plan``,
    ``gather_sites``, ``scatter_sites``, ``scatter_sites_zero``, ``site_conv_forward``,
    ``site_conv_backward``, ``halo_cols``, ``halo_cols_backward``, ``cca_sites_forward``,
    ``cca_sites_backward``); called once, by :func:`spairkit.ops.compiled.register_ops`.
    The backward ops are once differentiable (they have no autograd of their own)."""
    def define(name, impl, schema, fake, backward=None, setup=None):
        op = torch.library.custom_op(f'spairkit::{name}', impl, mutates_args=(),
                                     schema=schema)
        op.register_fake(fake)
        if backward is not None:
            op.register_autograd(backward, setup_context=setup)

    define('site_plan', _plan_impl, '(Tensor mask, int kernel_size, int dilation) -> Tensor[]',
           _plan_fake)
    define('gather_sites', _gather_impl, '(Tensor dense, Tensor active) -> Tensor',
           _gather_fake, _gather_backward, _gather_setup)
    define('scatter_sites_zero', _scatter_zero_impl,
           '(Tensor rows, Tensor active, int n, int h, int w) -> Tensor', _scatter_zero_fake)
    define('scatter_sites', _scatter_impl, '(Tensor dense, Tensor rows, Tensor active) -> Tensor',
           _scatter_fake, _scatter_backward, _scatter_setup)
    define('site_conv_forward', _conv_impl,
           '(Tensor rows, Tensor weight, Tensor? bias, Tensor nbr) -> Tensor', _conv_fake,
           _conv_backward, _conv_setup)
    define('site_conv_backward', _conv_backward_impl,
           '(Tensor grad_out, Tensor rows, Tensor weight, Tensor nbr, bool need_rows, '
           'bool need_weight, bool need_bias) -> (Tensor, Tensor, Tensor)', _conv_backward_fake)
    define('halo_cols', _halo_impl,
           '(Tensor rows, Tensor dense, Tensor active, Tensor nbr, Tensor row_of, '
           'int kernel_size, int dilation) -> Tensor', _halo_fake, _halo_backward, _halo_setup)
    define('halo_cols_backward', _halo_backward_impl,
           '(Tensor gcols, Tensor active, Tensor nbr, Tensor row_of, int n, int c, int h, '
           'int w, int kernel_size, int dilation) -> (Tensor, Tensor)', _halo_backward_fake)
    define('cca_sites_forward', _cca_impl,
           '(Tensor q_rows, Tensor key, Tensor value, Tensor w_rows, Tensor[] lists, '
           'float scale) -> Tensor', _cca_fake, _cca_backward, _cca_setup)
    define('cca_sites_backward', _cca_backward_impl,
           '(Tensor grad_out, Tensor q_rows, Tensor key, Tensor value, Tensor w_rows, '
           'Tensor[] lists, float scale) -> (Tensor, Tensor, Tensor, Tensor)',
           _cca_backward_fake)


def compiled_gather_sites(x: torch.Tensor, plan: SitePlan) -> torch.Tensor:
    return library_ops(x.device).gather_sites(x, plan.active)


def compiled_scatter_sites(x: torch.Tensor, rows: torch.Tensor, plan: SitePlan) -> torch.Tensor:
    return library_ops(x.device).scatter_sites(x, rows.to(x.dtype), plan.active)


def compiled_site_conv2d(rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                         nbr: torch.Tensor) -> torch.Tensor:
    dtype = kernel_dtype(rows.device, rows, weight, bias)
    with no_autocast(rows.device):
        out = library_ops(rows.device).site_conv_forward(
            rows.to(dtype).contiguous(), weight.to(dtype),
            None if bias is None else bias.to(dtype), nbr)
    return out.to(rows.dtype)


def compiled_halo_conv2d(rows: torch.Tensor, dense: torch.Tensor, weight: torch.Tensor,
                         bias: torch.Tensor | None, plan: SitePlan,
                         dilation: int) -> torch.Tensor:
    k = weight.shape[-1]
    dtype = kernel_dtype(rows.device, rows, dense, weight, bias)
    with no_autocast(rows.device):
        cols = library_ops(rows.device).halo_cols(
            rows.to(dtype).contiguous(), dense.to(dtype), plan.active,
            plan.neighbours(k, dilation), plan.row_of, k, dilation)
        out = F.linear(cols, _wmat(weight, dtype), None if bias is None else bias.to(dtype))
    return out.to(rows.dtype)


def compiled_site_criss_cross(q_rows: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                              w_rows: torch.Tensor, plan: SitePlan,
                              scale: float) -> torch.Tensor:
    dtype = kernel_dtype(value.device, q_rows, key, value, w_rows)
    with no_autocast(value.device):
        out = library_ops(value.device).cca_sites_forward(
            q_rows.to(dtype).contiguous(), key.to(dtype), value.to(dtype),
            w_rows.to(dtype).contiguous(), [*plan.rows, *plan.cols], scale)
    return out.to(value.dtype)


# ------------------------------------------------------------------- dispatch
def _reference(device: torch.device) -> bool:
    """Whether the site operators run the oracle (backend ``torch``) rather than the
    compiled ops, for tensors on ``device``."""
    return current_backend(device) == 'torch'


def _check_rows(rows: torch.Tensor, plan: SitePlan, what: str = 'rows') -> None:
    if not isinstance(rows, torch.Tensor) or rows.dim() != 2:
        raise ValueError(f'{what} must be a (P, C) tensor')
    if rows.shape[0] != plan.num_sites:
        raise ValueError(f'{what} has {rows.shape[0]} rows, the plan {plan.num_sites} sites')
    if rows.device != plan.device:
        raise ValueError(f'{what} is on {rows.device}, the plan on {plan.device}')


def gather_sites(x: torch.Tensor, plan: SitePlan) -> torch.Tensor:
    """``x`` (N, C, H, W) at the plan's sites: rows (P, C)."""
    plan.check(x)
    if _reference(x.device):
        return reference_gather_sites(x, plan)
    return compiled_gather_sites(x, plan)


def scatter_sites(x: torch.Tensor, rows: torch.Tensor, plan: SitePlan) -> torch.Tensor:
    """``x`` with ``rows`` written at the plan's sites (clean pixels unchanged)."""
    plan.check(x)
    _check_rows(rows, plan)
    if rows.shape[1] != x.shape[1]:
        raise ValueError(f'rows have {rows.shape[1]} channels, x has {x.shape[1]}')
    if (not torch.compiler.is_compiling() and plan.num_sites == 0
            and not (torch.is_grad_enabled() and rows.requires_grad)):
        return x  # nothing to write and no graph to keep
    if _reference(x.device):
        return reference_scatter_sites(x, rows, plan)
    return compiled_scatter_sites(x, rows, plan)


def _check_weight(rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    if weight.dim() != 4 or weight.shape[2] != weight.shape[3] or weight.shape[2] % 2 == 0:
        raise ValueError(f'weight must be (Cout, Cin, k, k) with odd k, got {tuple(weight.shape)}')
    if weight.shape[1] != rows.shape[1]:
        raise ValueError(f'weight has {weight.shape[1]} input channels, rows {rows.shape[1]}')
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f'bias must be ({weight.shape[0]},), got {tuple(bias.shape)}')


def _dense_conv_full(rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                     plan: SitePlan, dilation: int) -> torch.Tensor:
    """Full mask: the rows are the image in channels-last order; run the dense conv."""
    n, h, w = plan.shape
    x = rows.reshape(n, h, w, rows.shape[1]).permute(0, 3, 1, 2)
    k = weight.shape[-1]
    y = F.conv2d(x, weight.to(rows.dtype), None if bias is None else bias.to(rows.dtype),
                 padding=dilation * (k // 2), dilation=dilation)
    return y.permute(0, 2, 3, 1).reshape(n * h * w, weight.shape[0])


def site_conv2d(rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                plan: SitePlan, dilation: int = 1) -> torch.Tensor:
    """Submanifold convolution (SPAIR eq. (2)) of site rows: (P, Cin) -> (P, Cout).

    Equals :func:`spairkit.ops.sparse_conv2d` at the sites (it is zero elsewhere).
    """
    _check_rows(rows, plan)
    _check_weight(rows, weight, bias)
    k = weight.shape[-1]
    if k == 1:
        return F.linear(rows, weight.view(weight.shape[0], weight.shape[1]).to(rows.dtype),
                        None if bias is None else bias.to(rows.dtype))
    if plan.full:
        return _dense_conv_full(rows, weight, bias, plan, dilation)
    nbr = plan.neighbours(k, dilation)
    if _reference(rows.device):
        return reference_site_conv2d(rows, weight, bias, nbr)
    return compiled_site_conv2d(rows, weight, bias, nbr)


def halo_conv2d(rows: torch.Tensor, dense: torch.Tensor, weight: torch.Tensor,
                bias: torch.Tensor | None, plan: SitePlan, dilation: int = 1) -> torch.Tensor:
    """A dense convolution of the map "``dense`` with ``rows`` at the sites", evaluated
    at the sites only: (P, Cout). Degraded neighbours are read from ``rows``, clean
    ones from ``dense``, those outside the image are zero (``padding = k // 2``)."""
    _check_rows(rows, plan)
    plan.check(dense, 'dense')
    _check_weight(rows, weight, bias)
    k = weight.shape[-1]
    if k == 1:
        return site_conv2d(rows, weight, bias, plan)
    if plan.full:
        return _dense_conv_full(rows, weight, bias, plan, dilation)
    if _reference(rows.device):
        return reference_halo_conv2d(rows, dense, weight, bias, plan, dilation)
    return compiled_halo_conv2d(rows, dense, weight, bias, plan, dilation)


def site_criss_cross(q_rows: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     w_rows: torch.Tensor, plan: SitePlan, scale: float = 1.0) -> torch.Tensor:
    """:func:`spairkit.ops.masked_criss_cross_attention` with the queries and the
    direction weights given at the sites only: ``q_rows`` (P, Cq), ``w_rows`` (P, 4);
    ``key`` (N, Cq, H, W) and ``value`` (N, C, H, W) are read at clean pixels only.
    Returns the output rows (P, C) (the operator is zero at clean pixels)."""
    _check_rows(q_rows, plan, 'q_rows')
    _check_rows(w_rows, plan, 'w_rows')
    plan.check(key, 'key')
    plan.check(value, 'value')
    if w_rows.shape[1] != 4:
        raise ValueError(f'w_rows must be (P, 4), got {tuple(w_rows.shape)}')
    if key.shape[1] != q_rows.shape[1]:
        raise ValueError(f'key has {key.shape[1]} channels, q_rows {q_rows.shape[1]}')
    if _reference(q_rows.device):
        return reference_site_criss_cross(q_rows, key, value, w_rows, plan, float(scale))
    return compiled_site_criss_cross(q_rows, key, value, w_rows, plan, float(scale))
