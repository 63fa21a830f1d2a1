"""Mask-guided sparse convolution module (SC), SPAIR Sec. 3.2.2, eq. (2)."""
from __future__ import annotations

import math

import torch
from torch import nn

from spairkit.ops import sparse_conv2d, sparse_plan
from spairkit.ops.sites import SiteFeatures, SitePlan, site_conv2d
from spairkit.registry import MODELS

from .compact import run_on_sites
from .utils import make_activation


class SparseConv2d(nn.Module):
    """One submanifold sparse convolution, eq. (2): ``M * (conv(x * M) + b)``.

    Holds the weights of a regular ``nn.Conv2d`` (same initialisation) and calls
    :func:`spairkit.ops.sparse_conv2d`, so the output is exactly zero at clean pixels
    and only degraded neighbours contribute at degraded ones.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 dilation: int = 1, bias: bool = True):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f'SparseConv2d needs an odd kernel_size, got {kernel_size}')
        self.dilation = dilation
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size,
                                               kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        # nn.Conv2d's default initialisation.
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(in_channels * kernel_size * kernel_size)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, plan=None) -> torch.Tensor:
        return sparse_conv2d(x, mask, self.weight, self.bias, dilation=self.dilation,
                             plan=plan)


@MODELS.register_module()
class SparseConvBlock(nn.Module):
    """SC module: densely connected sparse convs plus a sparse 1x1, added to the input.

    Six (``num_layers``) sparse 3x3 convolutions, each fed the concatenation of the
    input and all earlier outputs (eq. (2) per layer, ``act(0) = 0`` keeps clean pixels
    at zero), then a sparse 1x1 convolution reducing back to ``channels``; the result is
    added to the input::

        out = x + M * conv1x1(cat[x, s_1, ..., s_6])

    so features at clean pixels (M = 0) leave the block exactly as they came in, and
    only degraded pixels (and only their degraded neighbours) are computed.

    It runs on the compact path (:mod:`spairkit.ops.sites`): :meth:`forward_sites`
    takes the degraded sites as rows (P, C), and the layers, their concatenations
    and the fusion all work on rows, so the cost follows the degraded area; the
    decoder chains it with the level's other blocks between one gather and one
    scatter (:func:`~spairkit.models.blocks.compact.run_blocks`).
    :meth:`dense_forward` is the same block written with the dense-map operators of
    SPEC.md (the formulation export uses, and the tests' oracle).
    """

    def __init__(self, channels: int, growth: int = 16, num_layers: int = 6,
                 kernel_size: int = 3, act: str = 'lrelu'):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f'SparseConvBlock num_layers must be >= 1, got {num_layers}')
        self.layers = nn.ModuleList(
            SparseConv2d(channels + i * growth, growth, kernel_size) for i in range(num_layers))
        self.act = make_activation(act)
        self.fuse = SparseConv2d(channels + num_layers * growth, channels, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                plan: SitePlan | None = None) -> torch.Tensor:
        """``x`` (N, C, H, W) -> the block output; ``plan`` (of ``mask``) is built if None."""
        return run_on_sites(self, x, mask, plan)

    def forward_sites(self, feats: SiteFeatures) -> SiteFeatures:
        """The block on the compact path: only the site rows change."""
        plan = feats.plan
        k = self.layers[0].weight.shape[-1]
        if (k, self.layers[0].dilation) != (plan.kernel_size, plan.dilation):
            raise ValueError(f'SparseConvBlock has {k}x{k} kernels (dilation '
                             f'{self.layers[0].dilation}) but the plan was built for '
                             f'{plan.kernel_size}x{plan.kernel_size} (dilation {plan.dilation})')
        rows = feats.rows
        cat = rows
        for layer in self.layers:
            out = self.act(site_conv2d(cat, layer.weight, layer.bias, plan, layer.dilation))
            cat = torch.cat([cat, out], dim=1)
        rows = rows + site_conv2d(cat, self.fuse.weight, self.fuse.bias, plan)
        return feats._replace(rows=rows)

    def dense_forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The block on full maps, through :func:`spairkit.ops.sparse_conv2d`."""
        # One active-site index for the six 3x3 layers (same mask, kernel, dilation).
        plan = sparse_plan(mask, self.layers[0].weight.shape[-1], self.layers[0].dilation)
        feats = [x]
        for layer in self.layers:
            feats.append(self.act(layer(torch.cat(feats, dim=1), mask, plan)))
        return x + self.fuse(torch.cat(feats, dim=1), mask)
