"""The examples/custom_netr config builds the variant it describes and runs it."""
from __future__ import annotations

from pathlib import Path

import torch

from spairkit.config import load_config
from spairkit.models import SparseConvBlock, SparseNonLocal, TimmEncoder
from spairkit.registry import MODELS

CONFIG = (Path(__file__).resolve().parents[2] / 'examples' / 'custom_netr' / 'configs'
          / 'spair_coarse_snl_mobilenet.py')


def test_custom_netr_config_builds_and_runs():
    cfg = load_config(CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    netr = model.netr
    assert isinstance(netr.encoder, TimmEncoder)
    kinds = [[type(b) for b in level] for level in netr.decoder_blocks]
    assert kinds == [[SparseConvBlock], [SparseConvBlock, SparseNonLocal],
                     [SparseConvBlock, SparseNonLocal]]
    assert sorted(netr.sfm.keys()) == ['0']

    model.train()
    x = torch.rand(2, 3, 21, 30)  # odd, not a multiple of the stride
    gt = torch.rand(2, 3, 21, 30)
    samples = [{'gt': gt[i], 'mask': (torch.rand(1, 21, 30) > 0.7).float()} for i in range(2)]
    model.use_gt_mask = True
    losses = model(x, samples, mode='loss')
    losses['loss_l1'].backward()
    assert all(p.grad is not None for p in netr.parameters())
    model.eval()
    pred = model(x, samples, mode='predict')
    assert pred[0]['pred'].shape == (3, 21, 30)
    assert torch.isfinite(pred[0]['pred']).all()
