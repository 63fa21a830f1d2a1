"""Running mask-guided blocks on the compact path (see :mod:`spairkit.ops.sites`).

A block is *site-capable* when it has ``forward_sites(SiteFeatures) -> SiteFeatures``
(SC and SNL). At a decoder level, :func:`run_blocks` gathers the degraded sites once,
chains every consecutive site-capable block on the rows and scatters once at the end;
any other block (a dense block of another ladder rung) gets the full map as before.
The plan of the level is built once per forward by the caller (Net_R's
:func:`plan_pyramid`, next to the mask pyramid) and passed explicitly.

Inside :func:`spairkit.ops.dense.dense_ops` (exporting a model) the blocks run their
``dense_forward`` full-map formulation instead: export sees no data-dependent shapes.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from spairkit.ops.dense import dense_ops_enabled
from spairkit.ops.sites import SiteFeatures, SitePlan, gather_sites, scatter_sites, site_plan

__all__ = ['is_site_block', 'plan_pyramid', 'run_blocks', 'run_on_sites']


def is_site_block(block: nn.Module) -> bool:
    """Whether ``block`` can run on the compact path."""
    return callable(getattr(block, 'forward_sites', None))


def _plan_for(mask: torch.Tensor, plan: SitePlan | None) -> SitePlan:
    if plan is None:
        return site_plan(mask)
    n, _, h, w = mask.shape
    if plan.shape != (n, h, w):
        raise ValueError(f'plan of (N, H, W) = {plan.shape} does not match the mask '
                         f'{tuple(mask.shape)}')
    return plan


def run_on_sites(block: nn.Module, x: torch.Tensor, mask: torch.Tensor,
                 plan: SitePlan | None = None) -> torch.Tensor:
    """One site-capable block on a full map: gather, ``forward_sites``, scatter."""
    if mask is None:
        raise ValueError(f'{type(block).__name__} is mask-guided: it needs the level mask')
    if dense_ops_enabled():
        return block.dense_forward(x, mask)
    plan = _plan_for(mask, plan)
    feats = block.forward_sites(SiteFeatures(x, gather_sites(x, plan), plan))
    return scatter_sites(x, feats.rows, plan)


def run_blocks(blocks: Iterable[nn.Module], x: torch.Tensor, mask: torch.Tensor | None,
               plan: SitePlan | None) -> torch.Tensor:
    """The blocks of one decoder level, in order, site-capable runs chained on rows."""
    feats: SiteFeatures | None = None
    for block in blocks:
        if plan is not None and is_site_block(block) and not dense_ops_enabled():
            if feats is None:
                feats = SiteFeatures(x, gather_sites(x, plan), plan)
            feats = block.forward_sites(feats)
            continue
        if feats is not None:
            x = scatter_sites(feats.dense, feats.rows, plan)
            feats = None
        x = block(x, mask)
    if feats is not None:
        x = scatter_sites(feats.dense, feats.rows, plan)
    return x


def plan_pyramid(masks: Sequence[torch.Tensor] | None,
                 level_blocks: Sequence[Iterable[nn.Module]],
                 extra_levels: Iterable[int] = ()) -> list[SitePlan | None]:
    """One :class:`SitePlan` per mask level that has a site-capable block or is in
    ``extra_levels`` (the levels of the SFM blocks, which take a plan too), else None
    (all None inside ``dense_ops()``: the blocks run ``dense_forward``, and an export
    must not trace the data-dependent plan building)."""
    if masks is None or dense_ops_enabled():
        return [None] * len(level_blocks)
    extra = set(extra_levels)
    return [site_plan(mask) if lv in extra or any(is_site_block(b) for b in blocks) else None
            for lv, (mask, blocks) in enumerate(zip(masks, level_blocks, strict=True))]
