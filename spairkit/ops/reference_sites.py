"""Pure-PyTorch oracle of the compact (site-list) operators of :mod:`spairkit.ops.sites`.

Written for clarity, differentiable through autograd, and still compact where that is
simple: gathers, scatters and the submanifold convolution touch the sites only (the
convolution's im2col indexes the rows with the plan's neighbour table). The
criss-cross attention is defined through the dense reference operator
(:func:`spairkit.ops.reference.masked_criss_cross_attention`) on the scattered
queries, so the compact kernels are checked against the operator of SPEC.md itself.
Arguments are validated by :mod:`spairkit.ops.sites`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from spairkit.ops import reference

__all__ = ['gather_sites', 'halo_conv2d', 'scatter_sites', 'site_conv2d', 'site_criss_cross']


def _pixel_rows(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) as an (N, H*W, C) view (no copy)."""
    return x.flatten(2).transpose(1, 2)


def _split(active: torch.Tensor, hw: int) -> tuple[torch.Tensor, torch.Tensor]:
    return active // hw, active % hw


def gather_sites(x: torch.Tensor, plan) -> torch.Tensor:
    n_idx, p_idx = _split(plan.active, x.shape[2] * x.shape[3])
    return _pixel_rows(x)[n_idx, p_idx]


def scatter_sites(x: torch.Tensor, rows: torch.Tensor, plan) -> torch.Tensor:
    n_idx, p_idx = _split(plan.active, x.shape[2] * x.shape[3])
    out = _pixel_rows(x).index_put((n_idx, p_idx), rows.to(x.dtype))
    return out.transpose(1, 2).reshape(x.shape)


def _wmat(weight: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    cout, cin, k, _ = weight.shape
    return weight.permute(0, 2, 3, 1).reshape(cout, k * k * cin).to(dtype)


def site_conv2d(rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                nbr: torch.Tensor) -> torch.Tensor:
    p, c = rows.shape
    padded = torch.cat([rows, rows.new_zeros(1, c)])  # row P: the zero neighbour
    idx = torch.where(nbr >= 0, nbr.long(), torch.full_like(nbr, p, dtype=torch.long))
    cols = padded[idx].reshape(p, idx.shape[1] * c)
    return F.linear(cols, _wmat(weight, rows.dtype),
                    None if bias is None else bias.to(rows.dtype))


def halo_conv2d(rows: torch.Tensor, dense: torch.Tensor, weight: torch.Tensor,
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


def site_criss_cross(q_rows: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     w_rows: torch.Tensor, plan, scale: float) -> torch.Tensor:
    mask = plan.mask()
    # Queries and weights matter at degraded pixels only; elsewhere any value will do.
    query = scatter_sites(torch.zeros_like(key), q_rows.to(key.dtype), plan)
    n, _, h, w = value.shape
    weights = scatter_sites(value.new_zeros(n, 4, h, w), w_rows.to(value.dtype), plan)
    out = reference.masked_criss_cross_attention(query, key, value, mask, weights, scale)
    return gather_sites(out, plan)
