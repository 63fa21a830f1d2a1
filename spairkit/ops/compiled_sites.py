"""Compiled (C++/CUDA) backend of the compact site operators of :mod:`spairkit.ops.sites`.

Autograd Functions around the kernels of ``cuda_ops/cpu/compact_cpu.cpp`` (and their
CUDA mirrors), with the dtype rules of :mod:`spairkit.ops.compiled`: CPU computes in
float32 (float64 when an input is), CUDA keeps one shared reduced-precision dtype,
autocast is off inside, results come back in the dtype of the main input. Every
backward is compact too (rows in, rows out; dense gradients only where a dense map was
read) and in gather form, without atomics. Arguments are validated by
:mod:`spairkit.ops.sites`.
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from spairkit.ops.compiled import _module_for, _op_dtype

__all__ = ['gather_sites', 'halo_conv2d', 'scatter_sites', 'site_conv2d', 'site_criss_cross']


def _no_autocast(device: torch.device):
    return torch.autocast(device_type=device.type, enabled=False)


class _GatherSites(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, active):
        ctx.save_for_backward(active)
        ctx.shape = tuple(x.shape)
        return _module_for(x.device).gather_sites(x, active)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (active,) = ctx.saved_tensors
        n, _, h, w = ctx.shape
        return _module_for(grad.device).scatter_sites_zero(grad.contiguous(), active, n, h, w), None


class _ScatterSites(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, rows, active):
        ctx.save_for_backward(active)
        return _module_for(x.device).scatter_sites(x, rows, active)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (active,) = ctx.saved_tensors
        ext = _module_for(grad.device)
        g_rows = ext.gather_sites(grad, active) if ctx.needs_input_grad[1] else None
        g_x = None
        if ctx.needs_input_grad[0]:
            g_x = ext.scatter_sites(grad, grad.new_zeros(active.shape[0], grad.shape[1]), active)
        return g_x, g_rows, None


def gather_sites(x: torch.Tensor, plan) -> torch.Tensor:
    return _GatherSites.apply(x, plan.active)


def scatter_sites(x: torch.Tensor, rows: torch.Tensor, plan) -> torch.Tensor:
    return _ScatterSites.apply(x, rows.to(x.dtype), plan.active)


class _SiteConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, rows, weight, bias, nbr):
        ctx.save_for_backward(rows, weight, nbr)
        return _module_for(rows.device).site_conv_forward(rows, weight, bias, nbr)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        rows, weight, nbr = ctx.saved_tensors
        need_r, need_w, need_b = ctx.needs_input_grad[:3]
        g_r, g_w, g_b = _module_for(grad.device).site_conv_backward(
            grad, rows, weight, nbr, need_r, need_w, need_b)
        return g_r, g_w, g_b, None


def site_conv2d(rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                nbr: torch.Tensor) -> torch.Tensor:
    dtype = _op_dtype(rows.device, rows, weight, bias)
    with _no_autocast(rows.device):
        out = _SiteConv.apply(rows.to(dtype).contiguous(), weight.to(dtype),
                              None if bias is None else bias.to(dtype), nbr)
    return out.to(rows.dtype)


class _HaloCols(torch.autograd.Function):
    @staticmethod
    def forward(ctx, rows, dense, active, nbr, row_of, kernel_size, dilation):
        ctx.save_for_backward(active, nbr, row_of)
        ctx.shape = tuple(dense.shape)
        ctx.geometry = (kernel_size, dilation)
        return _module_for(rows.device).halo_cols(rows, dense, active, nbr, kernel_size,
                                                  dilation)

    @staticmethod
    @once_differentiable
    def backward(ctx, gcols):
        active, nbr, row_of = ctx.saved_tensors
        n, c, h, w = ctx.shape
        g_rows, g_dense = _module_for(gcols.device).halo_cols_backward(
            gcols.contiguous(), active, nbr, row_of, n, c, h, w, *ctx.geometry)
        return g_rows, g_dense, None, None, None, None, None


def halo_conv2d(rows: torch.Tensor, dense: torch.Tensor, weight: torch.Tensor,
                bias: torch.Tensor | None, plan, dilation: int) -> torch.Tensor:
    k = weight.shape[-1]
    dtype = _op_dtype(rows.device, rows, dense, weight, bias)
    with _no_autocast(rows.device):
        cols = _HaloCols.apply(rows.to(dtype).contiguous(), dense.to(dtype), plan.active,
                               plan.neighbours(k, dilation), plan.row_of, k, dilation)
        wmat = weight.permute(0, 2, 3, 1).reshape(weight.shape[0], -1).to(dtype)
        out = torch.nn.functional.linear(cols, wmat, None if bias is None else bias.to(dtype))
    return out.to(rows.dtype)


class _SiteCrissCross(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q_rows, key, value, w_rows, scale, *lists):
        ctx.save_for_backward(q_rows, key, value, w_rows, *lists)
        ctx.scale = scale
        return _module_for(value.device).cca_sites_forward(q_rows, key, value, w_rows,
                                                           list(lists), scale)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        q_rows, key, value, w_rows, *lists = ctx.saved_tensors
        # When key and value are one tensor, its whole gradient comes back as gk and
        # gv is None (autograd adds the two for that tensor anyway).
        gq, gk, gv, gw = _module_for(grad.device).cca_sites_backward(
            grad.contiguous(), q_rows, key, value, w_rows, lists, ctx.scale)
        return (gq, gk, gv, gw, None) + (None,) * len(lists)


def site_criss_cross(q_rows: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     w_rows: torch.Tensor, plan, scale: float) -> torch.Tensor:
    dtype = _op_dtype(value.device, q_rows, key, value, w_rows)
    with _no_autocast(value.device):
        out = _SiteCrissCross.apply(q_rows.to(dtype).contiguous(), key.to(dtype),
                                    value.to(dtype), w_rows.to(dtype).contiguous(), scale,
                                    *plan.rows, *plan.cols)
    return out.to(value.dtype)
