"""The Table 6 ablation: train every rung of the ladder under one fixed CPU budget.

For each task (synthetic rain streaks, synthetic raindrops over the scikit-image
photographs) one Net_L is trained, then shared (frozen) by every rung; each rung's
Net_R is trained with the *same* iterations, batch, crops, learning-rate schedule,
data order and seed, on MMEngine's Runner with the packaged configs of the ladder
(narrowed identically by :func:`~spairkit.benchmarking.ladder.shrink_model_cfg`).
Every rung is then evaluated on held-out photographs never seen in training with the
task's packaged protocol: PSNR/SSIM on Y overall, on degraded and on clean pixels
(the synthesiser's mask), plus parameter counts and inference time.

``benchmarks/ablation.py`` is the command-line front end; this module holds the
logic so it can be tested and reused.
"""
from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from spairkit.config import load_config
from spairkit.tasks import get_task

from .ladder import RUNG_NAMES, SMALL_NETL, model_cfg, rung, shrink_model_cfg
from .model_quick import count_parameters
from .timing import time_call

#: The metrics reported per rung (RestorationMetric's names, Y channel).
METRIC_KEYS = ('PSNR', 'SSIM', 'PSNR_degraded', 'PSNR_clean', 'SSIM_degraded', 'SSIM_clean')


@dataclasses.dataclass
class AblationSettings:
    """One fixed budget, identical for every rung (and the shared Net_L's own)."""

    tasks: tuple[str, ...] = ('rain_streak', 'raindrop')
    rungs: tuple[str, ...] = RUNG_NAMES
    seeds: tuple[int, ...] = (0, 1)
    netl_iters: int = 600
    netr_iters: int = 250
    batch_size: int = 8
    crop_size: int = 48
    patch_size: int = 64
    train_samples: int = 4000
    heldout_samples: int = 8
    heldout_size: int = 128
    lr: float = 2e-3
    netl_pos_weight: float | None = None
    timing_reps: int = 3
    work_dir: str = 'work_dirs/ablation'

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _data_cfgs(cfg, task: str, settings: AblationSettings, seed: int) -> None:
    """Point the config's train/test data at the task's synthetic pairs.

    The synthesiser and the evaluation protocol are the task's own declarations
    (``get_task(task).synthesizer`` and its default layout's protocol).
    """
    declared = get_task(task)
    degradation = declared.synthesizer_cfg()
    protocol = declared.protocol()
    cfg.train_dataloader = dict(
        batch_size=settings.batch_size, num_workers=0,
        sampler=dict(type='InfiniteSampler', shuffle=True, seed=seed),
        collate_fn=dict(type='spairkit.restoration_collate'),
        dataset=dict(type='SynthesizedPairDataset', split='train', task=task,
                     degradation=degradation, num_samples=settings.train_samples,
                     patch_size=settings.patch_size, seed=seed, pipeline=[
                         dict(type='PairedRandomCrop', size=settings.crop_size),
                         dict(type='PairedFlip', horizontal=0.5, vertical=0.5),
                         dict(type='PackRestorationInputs')]))
    # The held-out set is the same for every seed: only training varies.
    cfg.test_dataloader = dict(
        batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='spairkit.restoration_collate'),
        dataset=dict(type='SynthesizedPairDataset', split='heldout', task=task,
                     degradation=degradation, num_samples=settings.heldout_samples,
                     patch_size=settings.heldout_size, seed=1000,
                     pipeline=[dict(type='PackRestorationInputs')]))
    cfg.test_evaluator = [dict(type='RestorationMetric', protocol=protocol, region_aware=True),
                          dict(type='MaskMetric')]
    cfg.test_cfg = dict(type='TestLoop')
    cfg.val_dataloader = None
    cfg.val_cfg = None
    cfg.val_evaluator = None


def set_budget(cfg, iters: int, seed: int, work_dir: Path, eta_min: float,
               log_points: int = 4) -> None:
    """One fixed budget on ``cfg``: ``iters`` iterations with a cosine decay to
    ``eta_min``, one checkpoint at the end, ``seed``, about ``log_points`` log lines
    (the training-loss curve), no progress bars, warnings only."""
    cfg.work_dir = str(work_dir)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, T_max=iters,
                                eta_min=eta_min)]
    cfg.default_hooks.logger.interval = max(1, iters // log_points)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=iters, by_epoch=False,
                                        max_keep_ckpts=1, save_last=True)
    cfg.custom_hooks = []
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.log_level = 'WARNING'


def _schedule_cfgs(cfg, iters: int, settings: AblationSettings, seed: int,
                   work_dir: Path) -> None:
    cfg.optim_wrapper = dict(type='OptimWrapper',
                             optimizer=dict(type='Adam', lr=settings.lr, betas=(0.9, 0.999)))
    set_budget(cfg, iters, seed, work_dir, eta_min=settings.lr / 200)


def localizer_config(task: str, settings: AblationSettings, work_dir: Path):
    """Net_L of ``task`` at the ablation's width and budget (seed 0, shared by all rungs).

    Starts from the task's own ``netl_synthetic`` config (runtime, hooks, Net_L).
    """
    cfg = load_config(get_task(task).config('netl_synthetic'))
    cfg.model.netl = dict(cfg.model.netl, **SMALL_NETL)
    cfg.model.pos_weight = settings.netl_pos_weight
    _data_cfgs(cfg, task, settings, seed=0)
    _schedule_cfgs(cfg, settings.netl_iters, settings, seed=0, work_dir=work_dir)
    return cfg


def rung_config(name: str, task: str, settings: AblationSettings, seed: int,
                netl_checkpoint: str, work_dir: Path):
    """Rung ``name``'s restorer stage on ``task``: the same budget for every rung.

    The task's ``spair_synthetic`` config with its model replaced by the rung's.
    """
    cfg = load_config(get_task(task).config('spair_synthetic'))
    model = shrink_model_cfg(model_cfg(name))
    model['netl_checkpoint'] = str(netl_checkpoint)
    cfg.model = model
    _data_cfgs(cfg, task, settings, seed=seed)
    _schedule_cfgs(cfg, settings.netr_iters, settings, seed=seed, work_dir=work_dir)
    return cfg


def train_runner(cfg):
    """Build a Runner from ``cfg`` and train it: ``(runner, training seconds)``."""
    from spairkit.registry import RUNNERS

    runner = RUNNERS.build(cfg)
    start = time.perf_counter()
    runner.train()
    return runner, time.perf_counter() - start


def bare_model(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DDP / MMEngine wrapper (or the model itself)."""
    return model.module if hasattr(model, 'module') else model


def train_localizer(task: str, settings: AblationSettings, work_dir: Path) -> dict:
    """Train the shared Net_L; its checkpoint, time and held-out mask scores."""
    from spairkit.checkpoint import latest_checkpoint

    runner, seconds = train_runner(localizer_config(task, settings, work_dir))
    metrics = {k: float(v) for k, v in runner.test().items() if k.startswith('mask/')}
    return {'checkpoint': str(latest_checkpoint(work_dir)), 'train_s': seconds,
            'params': count_parameters(bare_model(runner.model).netl), 'metrics': metrics}


def inference_time(model: torch.nn.Module, size: int, reps: int) -> float:
    """Median seconds of the full pipeline (Net_L, its mask, Net_R) on one image."""
    image = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    model.eval()

    def run():
        with torch.no_grad():
            return model(image, mode='tensor')

    return time_call(run, reps=reps).median_s


def train_rung(name: str, task: str, settings: AblationSettings, seed: int,
               netl_checkpoint: str, work_dir: Path) -> dict:
    """Train and evaluate one rung; everything the ablation table reports about it."""
    runner, seconds = train_runner(rung_config(name, task, settings, seed, netl_checkpoint,
                                         work_dir))
    metrics = {k: float(v) for k, v in runner.test().items()}
    model = bare_model(runner.model)
    return {
        'rung': name, 'task': task, 'seed': seed, 'train_s': seconds,
        'netr_params': count_parameters(model.netr),
        'infer_s': inference_time(model, settings.heldout_size, settings.timing_reps),
        'metrics': metrics,
    }


def run_summary(run: dict) -> str:
    """One log line for a trained and evaluated rung (``train_rung``'s record)."""
    m = run['metrics']
    return (f"[{run['task']}] seed {run['seed']} {run['rung']}: PSNR {m['PSNR']:.2f} "
            f"(degraded {m['PSNR_degraded']:.2f}, clean {m['PSNR_clean']:.2f}), "
            f"{run['train_s']:.0f} s")


def run_ablation(settings: AblationSettings, log: Callable[[str], None] = print,
                 on_result: Callable[[dict], None] | None = None,
                 time_limit_s: float | None = None) -> dict:
    """Seed by seed, task by task: the task's Net_L (once), then every rung.

    Blocks run seed-major (seed 0 of every task first), so a run that must stop early
    still holds complete ladders. With ``time_limit_s``, a (seed, task) block is not
    started when the previous block's duration says it would end past the limit; it is
    listed under ``not_run`` with the reason. ``on_result`` is called with the results
    so far after every trained model, so a long run can save partial results.
    """
    for task in settings.tasks:
        get_task(task)  # an unknown task is a ConfigError naming the registered ones
    for name in settings.rungs:
        rung(name)
    root = Path(settings.work_dir)
    results: dict = {'settings': settings.to_dict(), 'localizers': {}, 'runs': [],
                     'not_run': []}
    start = time.perf_counter()
    last_block_s = None
    for seed in settings.seeds:
        for task in settings.tasks:
            elapsed = time.perf_counter() - start
            if (time_limit_s is not None and last_block_s is not None
                    and elapsed + last_block_s > time_limit_s):
                reason = (f'time limit: {elapsed:.0f} s used, the last block took '
                          f'{last_block_s:.0f} s, limit {time_limit_s:.0f} s')
                results['not_run'].append({'task': task, 'seed': seed, 'reason': reason})
                log(f'[{task}] seed {seed}: not run ({reason})')
                continue
            block_start = time.perf_counter()
            if task not in results['localizers']:
                log(f'[{task}] training the shared Net_L ({settings.netl_iters} iterations)')
                netl = train_localizer(task, settings, root / task / 'netl')
                results['localizers'][task] = netl
                log(f"[{task}] Net_L done in {netl['train_s']:.0f} s: {netl['metrics']}")
                if on_result:
                    on_result(results)
            netl_checkpoint = results['localizers'][task]['checkpoint']
            for name in settings.rungs:
                log(f'[{task}] seed {seed}: training {name} ({settings.netr_iters} iterations)')
                run = train_rung(name, task, settings, seed, netl_checkpoint,
                                 root / task / f'seed{seed}' / name)
                results['runs'].append(run)
                log(run_summary(run))
                if on_result:
                    on_result(results)
            last_block_s = time.perf_counter() - block_start
    return results


def summarise(results: dict) -> list[dict]:
    """Per task and rung: mean and seed-to-seed std of every metric, params, time."""
    import numpy as np

    rows = []
    seen: list[tuple[str, str]] = []
    for run in results['runs']:
        key = (run['task'], run['rung'])
        if key not in seen:
            seen.append(key)
    for task, name in seen:
        runs = [r for r in results['runs'] if (r['task'], r['rung']) == (task, name)]
        row = {'task': task, 'rung': name, 'seeds': [r['seed'] for r in runs],
               'netr_params': runs[0]['netr_params'],
               'infer_s': float(np.median([r['infer_s'] for r in runs])),
               'train_s': float(np.mean([r['train_s'] for r in runs]))}
        for key in METRIC_KEYS + tuple(f'input_{k}' for k in METRIC_KEYS):
            values = [r['metrics'][key] for r in runs if key in r['metrics']]
            if values:
                row[key] = float(np.mean(values))
                row[f'{key}_std'] = float(np.std(values)) if len(values) > 1 else None
        rows.append(row)
    return rows


def save_results(results: dict, path: Path) -> None:
    """Write the results JSON atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + '.tmp')
    tmp.write_text(json.dumps(results, indent=2))
    tmp.replace(path)


def parse_names(text: str, allowed: Sequence[str], what: str) -> tuple[str, ...]:
    """A comma-separated list checked against ``allowed``."""
    names = tuple(n.strip() for n in text.split(',') if n.strip())
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise ValueError(f'{what}: {text!r} is not a comma-separated list of '
                         f'{", ".join(allowed)}')
    return names


def _pm(row: dict, key: str, digits: int, spread: bool = True) -> str:
    value = row.get(key)
    if value is None:
        return '-'
    std = row.get(f'{key}_std') if spread else None
    return f'{value:.{digits}f}' + (f' ± {std:.{digits}f}' if std is not None else '')


def ablation_table(rows: Sequence[dict]) -> str:
    """The summary as a Markdown table, one block per task, input row first."""
    from .tables import format_ms, markdown_table

    table = []
    for task in dict.fromkeys(r['task'] for r in rows):
        task_rows = [r for r in rows if r['task'] == task]
        first = task_rows[0]
        # The held-out inputs are the same for every seed: no spread to show.
        table.append([task, 'input (no restoration)', '-',
                      *(_pm(first, f'input_{k}', d, spread=False) for k, d in (
                          ('PSNR', 2), ('SSIM', 4), ('PSNR_degraded', 2), ('PSNR_clean', 2))),
                      '-', '-'])
        for r in task_rows:
            table.append([task, r['rung'], len(r['seeds']), _pm(r, 'PSNR', 2),
                          _pm(r, 'SSIM', 4), _pm(r, 'PSNR_degraded', 2),
                          _pm(r, 'PSNR_clean', 2), f"{r['netr_params'] / 1e3:.0f}k",
                          format_ms(r['infer_s'])])
    return markdown_table(['task', 'net', 'seeds', 'PSNR', 'SSIM', 'PSNR degraded',
                           'PSNR clean', 'Net_R params', 'infer ms'], table)
