"""Region-guided sparse non-local module (SNL), SPAIR Sec. 3.2.3, eqs. (3)-(5)."""
from __future__ import annotations

import math

import torch
from torch import nn

from spairkit.ops import masked_criss_cross_attention
from spairkit.ops.sites import SiteFeatures, SitePlan, halo_conv2d, site_conv2d, site_criss_cross
from spairkit.registry import MODELS

from .compact import run_on_sites
from .sparse_conv import SparseConv2d
from .utils import make_activation


class _AggregationStep(nn.Module):
    """One directional aggregation: eqs. (3)-(4) per direction, eq. (5) to fuse them.

    The fusion weights ``E`` (N, 4, H, W) come from a convolution on the features and a
    softmax over the four directions (left, right, up, down). Queries/keys are the
    features themselves (the paper's ``f . F``) or 1x1 projections of them.
    """

    def __init__(self, channels: int, qk_channels: int | None, fusion_kernel: int):
        super().__init__()
        if qk_channels:
            self.query = nn.Conv2d(channels, qk_channels, 1)
            self.key = nn.Conv2d(channels, qk_channels, 1)
        else:
            self.query = self.key = None
        self.fusion = nn.Conv2d(channels, 4, fusion_kernel, padding=fusion_kernel // 2)

    def forward_sites(self, rows: torch.Tensor, dense: torch.Tensor, plan: SitePlan,
                      scale: float) -> torch.Tensor:
        """The step's context ``h`` at the sites (P, C).

        The features are ``dense`` at clean pixels and ``rows`` at the sites, so the
        keys and values (clean pixels only) come from ``dense``, the queries and the
        fusion weights (needed at the sites only) from the rows, the latter's 3x3
        convolution reading clean neighbours from ``dense``.
        """
        q = rows if self.query is None else site_conv2d(rows, self.query.weight,
                                                        self.query.bias, plan)
        k = dense if self.key is None else self.key(dense)
        logits = halo_conv2d(rows, dense, self.fusion.weight, self.fusion.bias, plan)
        return site_criss_cross(q, k, dense, torch.softmax(logits, dim=1), plan, scale)

    def dense_forward(self, x: torch.Tensor, mask: torch.Tensor, scale: float) -> torch.Tensor:
        q = x if self.query is None else self.query(x)
        k = x if self.key is None else self.key(x)
        weights = torch.softmax(self.fusion(x), dim=1)
        return masked_criss_cross_attention(q, k, x, mask, weights, scale=scale)


@MODELS.register_module()
class SparseNonLocal(nn.Module):
    """SNL: degraded pixels gather context from clean pixels only; clean pixels untouched.

    Each step adds to every degraded pixel p the fused directional context
    ``h(p) = sum_d e_d(p) g_d(p)`` (eq. (5)), where ``g_d(p)`` is the softmax-weighted
    average (eqs. (3)-(4)) of the clean pixels on the ray from p in direction d
    (:func:`spairkit.ops.masked_criss_cross_attention`). Two steps (``num_steps``) give
    every pixel full-image context; between steps a sparse 1x1 convolution refines the
    degraded pixels' features::

        x1 = x  + h_1(x)
        x2 = x1 + act(M * (W x1 + b))      # sparse 1x1
        out = x2 + h_2(x2)

    ``h`` and the sparse 1x1 are zero at clean pixels, so ``out == x`` there.

    It runs on the compact path (:meth:`forward_sites`, see
    :class:`~spairkit.models.blocks.sparse_conv.SparseConvBlock`): the sparse 1x1,
    the fusion weights and the attention are evaluated at the degraded sites only;
    the clean pixels, which never change inside the block, serve as keys and values
    from the dense map. :meth:`dense_forward` is the full-map formulation.

    Args:
        channels: feature width.
        qk_channels: width of the optional 1x1 query/key projections (None: use the
            features directly, as in eq. (3)).
        scale: logit scale; default ``1/sqrt(Cq)`` with Cq the query width.
        num_steps: aggregation steps (the paper uses 2).
        fusion_kernel: kernel size of the conv producing the 4 fusion weights.
        act: activation after the sparse 1x1 (must map 0 to 0).
    """

    def __init__(self, channels: int, qk_channels: int | None = None,
                 scale: float | None = None, num_steps: int = 2, fusion_kernel: int = 3,
                 act: str = 'lrelu'):
        super().__init__()
        if num_steps < 1:
            raise ValueError(f'SparseNonLocal num_steps must be >= 1, got {num_steps}')
        cq = qk_channels or channels
        self.scale = float(scale) if scale is not None else 1.0 / math.sqrt(cq)
        self.steps = nn.ModuleList(
            _AggregationStep(channels, qk_channels, fusion_kernel) for _ in range(num_steps))
        self.refine = nn.ModuleList(
            SparseConv2d(channels, channels, 1) for _ in range(num_steps - 1))
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                plan: SitePlan | None = None) -> torch.Tensor:
        """``x`` (N, C, H, W) -> the block output; ``plan`` (of ``mask``) is built if None."""
        return run_on_sites(self, x, mask, plan)

    def forward_sites(self, feats: SiteFeatures) -> SiteFeatures:
        """The block on the compact path: only the site rows change."""
        rows, dense, plan = feats.rows, feats.dense, feats.plan
        for i, step in enumerate(self.steps):
            if i > 0:
                refine = self.refine[i - 1]
                rows = rows + self.act(site_conv2d(rows, refine.weight, refine.bias, plan))
            rows = rows + step.forward_sites(rows, dense, plan, self.scale)
        return feats._replace(rows=rows)

    def dense_forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The block on full maps, through the operators of SPEC.md."""
        for i, step in enumerate(self.steps):
            if i > 0:
                x = x + self.act(self.refine[i - 1](x, mask))
            x = x + step.dense_forward(x, mask, self.scale)
        return x
