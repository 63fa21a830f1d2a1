"""The joint rain-streak + raindrop example trains both stages and reports both tasks.

Runs examples/joint_streak_drop/ exactly as configured, shrunk to tiny patches and a
few iterations so it fits a unit-test budget on CPU.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spairkit.cli.runner_setup import build_runner
from spairkit.config import load_config
from spairkit.datasets import MultiTaskRatioSampler

pytestmark = pytest.mark.slow  # two short training runs (~15 s of CPU)

EXAMPLE = Path(__file__).resolve().parents[2] / 'examples' / 'joint_streak_drop'
ITERS = 2


def shrink(cfg, work_dir: Path):
    """Tiny patches, few samples and iterations; everything else as in the example."""
    cfg.work_dir = str(work_dir)
    for loader, samples in ((cfg.train_dataloader, 8), (cfg.val_dataloader, 2)):
        loader.batch_size = 2 if samples == 8 else 1
        for ds in loader.dataset.datasets:
            ds.patch_size = 32
            ds.num_samples = samples
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_iters = ITERS
    cfg.train_cfg.val_interval = ITERS
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.interval = ITERS
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    return cfg


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    # Tiny convolutions are slower with several threads on a shared CPU than with one.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield train_both_stages(tmp_path_factory.mktemp('joint'))
    finally:
        torch.set_num_threads(threads)


def train_both_stages(root: Path):
    netl_cfg = shrink(load_config(EXAMPLE / 'joint_netl.py'), root / 'netl')
    runner = build_runner(netl_cfg)
    runner.train()
    checkpoint = root / 'netl' / f'iter_{ITERS}.pth'
    assert checkpoint.is_file()

    spair_cfg = shrink(load_config(EXAMPLE / 'joint_streak_drop.py'), root / 'spair')
    spair_cfg.model.netl_checkpoint = str(checkpoint)
    runner = build_runner(spair_cfg)
    runner.train()
    return runner, runner.test()


def test_sampler_mixes_both_tasks_by_the_configured_ratio(trained):
    runner, _ = trained
    sampler = runner.train_dataloader.sampler
    assert isinstance(sampler, MultiTaskRatioSampler)
    assert sampler.ratios == {'rain_streak': 0.5, 'raindrop': 0.5}
    dataset = runner.train_dataloader.dataset
    tasks = [dataset[i]['data_samples']['metainfo']['task'] for i in sampler]
    assert tasks.count('rain_streak') == tasks.count('raindrop') == 8


def test_metrics_are_reported_per_task_with_each_protocol(trained):
    runner, metrics = trained
    metric = runner.test_evaluator.metrics[0]
    assert metric.protocol_for('rain_streak').name == 'rain13k_y'
    assert metric.protocol_for('raindrop').name == 'agan_y_crop4'
    for task in ('rain_streak', 'raindrop'):
        assert np.isfinite(metrics[f'{task}/PSNR']) and metrics[f'{task}/PSNR'] > 0
        assert 0 < metrics[f'{task}/SSIM'] <= 1
        assert np.isfinite(metrics[f'{task}/input_PSNR'])
    assert all(key.split('/')[0] in ('rain_streak', 'raindrop') for key in metrics), metrics
