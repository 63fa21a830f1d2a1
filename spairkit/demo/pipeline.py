"""The demo pipeline: Net_L, then SPAIR with the frozen Net_L, then export and report.

Both stages run on MMEngine's Runner (``SpairkitRunner``) with the packaged configs
``configs/demo/demo_localizer.py`` and ``configs/demo/demo_restorer.py``; nothing
here trains by hand. What the demo adds is the glue: stage 2 points at stage 1's
checkpoint, the trained model is exported as a self-contained config + weights
that ``spairkit restore`` loads, and the held-out metrics are written as a report.
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config

from spairkit.checkpoint import atomic_save, latest_checkpoint
from spairkit.config import load_config
from spairkit.datasets.synthesized import SKIMAGE_HELDOUT_PHOTOS, SKIMAGE_TRAIN_PHOTOS
from spairkit.fileio import atomic_write_text

from .report import render_report

LOCALIZER_CONFIG = 'spairkit::demo/demo_localizer.py'
RESTORER_CONFIG = 'spairkit::demo/demo_restorer.py'
#: Tasks ``spairkit demo --task`` trains: the built-in tasks with a synthesiser. The
#: packaged demo configs are rain streaks; the others swap in their task's synthesiser
#: (``joint``: one model for rain streaks + raindrops, the joint plugin's composition).
DEMO_TASKS = ('rain_streak', 'raindrop', 'shadow', 'motion_blur', 'joint')


@dataclasses.dataclass
class DemoResult:
    """What ``spairkit demo`` produced."""

    work_dir: Path
    metrics: dict
    timings: dict


def _fast_overrides(cfg: Config) -> None:
    """A few iterations on tiny images: for tests of the pipeline, not of quality."""
    cfg.train_cfg.max_iters = 3
    cfg.default_hooks.checkpoint.interval = 3
    cfg.param_scheduler = [dict(type='ConstantLR', by_epoch=False, factor=1.0)]
    cfg.train_dataloader.batch_size = 2
    cfg.test_dataloader.dataset.num_samples = 2
    cfg.test_dataloader.dataset.patch_size = 48


def _runner(cfg: Config):
    from spairkit.registry import RUNNERS
    return RUNNERS.build(cfg)


def use_task(cfg: Config, task: str) -> None:
    """Train and evaluate ``task``: its synthesiser and name on both datasets, then the
    task's own ``demo_options`` (:attr:`spairkit.tasks.Task.demo_options`).

    The task's mask rule follows from the name (samples carry their task), so the
    masks, the region metrics and the report all use that task's rule.
    """
    from spairkit.errors import ConfigError
    from spairkit.tasks import get_task

    if task not in DEMO_TASKS:
        raise ConfigError(f"demo task must be one of {', '.join(DEMO_TASKS)}, got {task!r}")
    task_obj = get_task(task)
    for split in ('train_dataloader', 'test_dataloader'):
        cfg[split].dataset.degradation = dict(task_obj.synthesizer)
        cfg[split].dataset.task = task
    if task_obj.demo_options:
        cfg.merge_from_dict(dict(task_obj.demo_options))


def _stage_config(path: str, work_dir: Path, fast: bool, task: str = 'rain_streak') -> Config:
    cfg = load_config(path)
    use_task(cfg, task)
    cfg.work_dir = str(work_dir)
    if fast:
        _fast_overrides(cfg)
    return cfg


def run_demo(work_dir: str | os.PathLike = 'demo_work', fast: bool = False,
             task: str = 'rain_streak') -> DemoResult:
    """Train Net_L and SPAIR on ``task``, write model.py, model.pth, report.md,
    comparison.png."""
    from spairkit.ops import current_backend
    from spairkit.visualization import write_image_atomic
    from spairkit.visualization.grid import make_comparison_grid

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    cfg_l = _stage_config(LOCALIZER_CONFIG, work_dir / 'localizer', fast, task)
    _runner(cfg_l).train()
    netl_ckpt = latest_checkpoint(work_dir / 'localizer')
    t_localizer = time.perf_counter()

    cfg_r = _stage_config(RESTORER_CONFIG, work_dir / 'restorer', fast, task)
    cfg_r.model.netl_checkpoint = str(netl_ckpt)
    runner = _runner(cfg_r)
    runner.train()
    t_restorer = time.perf_counter()

    metrics = {k: float(v) for k, v in runner.test().items()}
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    model.eval()
    _export(cfg_r, model, work_dir)
    sample = runner.test_dataloader.dataset[0]
    with torch.no_grad():
        pred = model.test_step({'inputs': [sample['inputs']],
                                'data_samples': [sample['data_samples']]})[0]
    grid = make_comparison_grid(_to_uint8(pred['input']), _to_uint8(pred['pred_mask']),
                                _to_uint8(pred['pred']), _to_uint8(pred['gt']))
    write_image_atomic(work_dir / 'comparison.png', grid)
    end = time.perf_counter()

    timings = {'total': end - start, 'localizer': t_localizer - start,
               'restorer': t_restorer - t_localizer, 'evaluate': end - t_restorer}
    settings = {
        'task': cfg_r.test_dataloader.dataset.task,
        'train_photos': SKIMAGE_TRAIN_PHOTOS, 'heldout_photos': SKIMAGE_HELDOUT_PHOTOS,
        'num_heldout': cfg_r.test_dataloader.dataset.num_samples,
        'heldout_size': cfg_r.test_dataloader.dataset.patch_size,
        'netl_iters': cfg_l.train_cfg.max_iters, 'spair_iters': cfg_r.train_cfg.max_iters,
        'batch_size': cfg_r.train_dataloader.batch_size, 'crop_size': cfg_r.crop_size,
        'train_patch': cfg_r.train_dataloader.dataset.get('patch_size'),
        'cpus': torch.get_num_threads(), 'torch': torch.__version__,
        'backend': current_backend(torch.device('cpu')),
        'command': f'spairkit demo --task {task} --work-dir {work_dir}'
                   + (' --fast' if fast else ''),
    }
    atomic_write_text(work_dir / 'report.md', render_report(metrics, timings, settings))
    return DemoResult(work_dir=work_dir, metrics=metrics, timings=timings)


def _export(cfg: Config, model: torch.nn.Module, work_dir: Path) -> None:
    """``model.py`` (self-contained config) and ``model.pth`` (weights incl. Net_L)."""
    export = cfg.copy()
    export.model.netl_checkpoint = None  # model.pth already holds netl.* weights
    export.pop('work_dir', None)
    export.load_from = None
    export.dump(str(work_dir / 'model.py'))
    state = {'state_dict': {k: v.detach().cpu() for k, v in model.state_dict().items()},
             'meta': {'spairkit_demo': True, 'config': 'model.py'}}
    atomic_save(state, work_dir / 'model.pth')


def _to_uint8(tensor: torch.Tensor) -> np.ndarray:
    array = tensor.detach().float().clamp(0, 1).mul(255).round().byte().cpu().numpy()
    array = np.transpose(array, (1, 2, 0))
    return np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array
