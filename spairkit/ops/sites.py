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

Operators (each dispatches per call like :mod:`spairkit.ops.backend`: the compiled
backend of the tensors' device, or the pure-PyTorch oracle of
:mod:`spairkit.ops.reference_sites` under ``SPAIRKIT_OPS_BACKEND=torch``):

* :func:`gather_sites` / :func:`scatter_sites`: dense map <-> rows;
* :func:`site_conv2d`: submanifold convolution on the rows (SC's layers, any 1x1);
* :func:`halo_conv2d`: a *dense* convolution evaluated at the sites only, degraded
  neighbours from the rows, clean ones from the dense map (SNL's fusion weights);
* :func:`site_criss_cross`: masked criss-cross attention with the rows as queries.

A full mask runs the dense convolution on the rows (which then are the whole image
in channels-last order): it is the same operator, and the backend's dense kernels are
faster than a gather-GEMM over every pixel.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from spairkit.ops import reference_sites
from spairkit.ops.backend import current_backend
from spairkit.ops.reference import binary_mask

__all__ = [
    'LineLists',
    'SiteFeatures',
    'SitePlan',
    'gather_sites',
    'halo_conv2d',
    'scatter_sites',
    'site_conv2d',
    'site_criss_cross',
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
        return int(self.active.shape[0])

    @property
    def full(self) -> bool:
        """Whether every pixel is a site (the rows are the image, channels last)."""
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
    from spairkit.ops.compiled import load
    n, _, h, w = mask.shape
    t = load('cpp').site_plan(binary_mask(mask), kernel_size, dilation)
    return SitePlan((n, h, w), t[0], t[1], t[2], kernel_size, dilation,
                    LineLists(*t[3:8]), LineLists(*t[8:13]))


# ------------------------------------------------------------------- dispatch
def _impl(device: torch.device):
    """The module implementing the site operators for the backend that runs now."""
    if current_backend(device) == 'torch':
        return reference_sites
    from spairkit.ops import compiled_sites  # builds the extension on first use
    return compiled_sites


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
    return _impl(x.device).gather_sites(x, plan)


def scatter_sites(x: torch.Tensor, rows: torch.Tensor, plan: SitePlan) -> torch.Tensor:
    """``x`` with ``rows`` written at the plan's sites (clean pixels unchanged)."""
    plan.check(x)
    _check_rows(rows, plan)
    if rows.shape[1] != x.shape[1]:
        raise ValueError(f'rows have {rows.shape[1]} channels, x has {x.shape[1]}')
    if plan.num_sites == 0 and not (torch.is_grad_enabled() and rows.requires_grad):
        return x  # nothing to write and no graph to keep
    return _impl(x.device).scatter_sites(x, rows, plan)


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
    return _impl(rows.device).site_conv2d(rows, weight, bias, plan.neighbours(k, dilation))


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
    return _impl(rows.device).halo_conv2d(rows, dense, weight, bias, plan, dilation)


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
    return _impl(q_rows.device).site_criss_cross(q_rows, key, value, w_rows, plan, float(scale))
