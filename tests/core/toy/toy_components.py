"""A tiny model, dataset, metric and kill hook for engine tests.

Loaded through the config's ``custom_imports`` (which is itself under test):
the config adds this folder to ``sys.path`` via ``PYTHONPATH`` in the test.
"""
from __future__ import annotations

import os
import signal

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from spairkit.registry import DATASETS, HOOKS, METRICS, MODELS


@MODELS.register_module()
class ToyRestorer(BaseModel):
    """Two convolutions predicting a residual; enough to see the loss fall."""

    def __init__(self, width: int = 8, nan_after: int | None = None, data_preprocessor=None,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.nan_after = nan_after  # training steps after which the loss turns NaN
        self.steps = 0
        self.conv1 = torch.nn.Conv2d(3, width, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = inputs + self.conv2(F.relu(self.conv1(inputs)))
        if mode == 'loss':
            self.steps += 1
            loss = F.l1_loss(out, data_samples['gt'])
            if self.nan_after is not None and self.steps > self.nan_after:
                loss = loss * float('nan')
            return {'loss': loss}
        if mode == 'predict':
            return [{'pred': o, 'gt': g} for o, g in zip(out, data_samples['gt'])]
        return out


@DATASETS.register_module()
class ToyPairs(Dataset):
    """Deterministic noisy/clean pairs made from a seed."""

    def __init__(self, num: int = 16, size: int = 12, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.gt = torch.rand(num, 3, size, size, generator=g)
        self.noisy = self.gt + 0.2 * torch.randn(num, 3, size, size, generator=g)
        self.metainfo = {'name': 'toy'}

    def __len__(self):
        return len(self.gt)

    def __getitem__(self, i):
        return {'inputs': self.noisy[i], 'data_samples': {'gt': self.gt[i]}}


@METRICS.register_module()
class ToyL1(BaseMetric):
    def process(self, data_batch, data_samples):
        for s in data_samples:
            self.results.append(float((s['pred'] - s['gt']).abs().mean()))

    def compute_metrics(self, results):
        return {'l1': sum(results) / len(results)}


@HOOKS.register_module()
class ToyRankDumpHook(Hook):
    """Each rank saves its final weights to ``out_dir`` (to compare ranks)."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir

    def after_run(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        rank = int(os.environ.get('RANK', 0))
        torch.save(model.state_dict(), os.path.join(self.out_dir, f'rank{rank}.pt'))


@HOOKS.register_module()
class ToyKillHook(Hook):
    """SIGKILLs its own process after iteration ``at_iter`` (a real crash)."""

    def __init__(self, at_iter: int):
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at_iter:
            os.kill(os.getpid(), signal.SIGKILL)


@DATASETS.register_module()
class ToyMaskedPairs(Dataset):
    """Packed SPAIR samples whose masks are empty for the first ``num_empty`` indices.

    With batches of consecutive indices, whole batches carry no degraded pixel, so
    every mask-gated branch of SPAIR computes nothing for them: the case DDP's
    unused-parameter check would catch if a parameter got no gradient.
    """

    def __init__(self, num: int = 16, size: int = 16, num_empty: int = 8, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.gt = (torch.rand(num, 3, size, size, generator=g) * 200).to(torch.uint8)
        masks = (torch.rand(num, 1, size, size, generator=g) > 0.7).float()
        masks[:num_empty] = 0
        self.masks = masks
        self.inputs = torch.where(masks.bool(), torch.full_like(self.gt, 250), self.gt)
        self.metainfo = {'name': 'toy-masked'}

    def __len__(self):
        return len(self.gt)

    def __getitem__(self, i):
        return {'inputs': self.inputs[i],
                'data_samples': {'gt': self.gt[i], 'mask': self.masks[i],
                                 'metainfo': {'max_value': 255, 'index': i}}}
