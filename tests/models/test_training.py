"""30 CPU iterations of each training stage on synthetic pairs lower the loss."""
from __future__ import annotations

import torch
from mmengine.optim import OptimWrapper

from spairkit.registry import MODELS

from .helpers import TINY_NETL, TINY_NETR, make_batch, synthetic_pairs

ITERS = 30


def _train(model, key: str, use_masks: bool) -> list[float]:
    deg, clean, mask = synthetic_pairs(8, size=32, seed=1)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = OptimWrapper(torch.optim.Adam(params, lr=2e-3))
    model.train()
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(ITERS):
        idx = torch.randperm(8, generator=g)[:4].tolist()
        batch = make_batch(deg, clean, mask if use_masks else None, idx)
        log = model.train_step(batch, optim)
        losses.append(float(log[key].detach()))
    return losses


def _first_last(losses: list[float]) -> tuple[float, float]:
    return sum(losses[:5]) / 5, sum(losses[-5:]) / 5


def test_localizer_stage_learns_the_mask():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='SPAIR', stage='localizer', netl=TINY_NETL,
                              mask_threshold=0.3))
    losses = _train(model, 'loss_bce', use_masks=False)  # masks derived from |x - gt|
    first, last = _first_last(losses)
    assert last < 0.7 * first, losses


def test_restorer_stage_lowers_l1_with_frozen_netl(tmp_path):
    torch.manual_seed(0)
    loc = MODELS.build(dict(type='SPAIR', stage='localizer', netl=TINY_NETL))
    ckpt = tmp_path / 'netl.pth'
    torch.save({'state_dict': loc.state_dict()}, ckpt)
    model = MODELS.build(dict(type='SPAIR', netl=TINY_NETL, netr=TINY_NETR,
                              netl_checkpoint=str(ckpt), use_gt_mask=True))
    model.init_weights()
    netl_before = {k: v.clone() for k, v in model.netl.state_dict().items()}
    losses = _train(model, 'loss_l1', use_masks=True)
    first, last = _first_last(losses)
    assert last < 0.7 * first, losses
    for k, v in model.netl.state_dict().items():  # frozen: not a single weight moved
        assert torch.equal(v, netl_before[k]), k
