"""Does the demo-budget Net_L find sparse degradations? Mask losses compared per task.

Trains the demo's Net_L (``configs/demo/demo_localizer.py``: same width, iterations,
batch, crops and schedule) on each built-in task's synthetic data with one of the
mask losses below, then scores its binarised mask (probability > 0.5) on the demo's
held-out photographs against the synthesiser's mask: IoU, F1, precision, recall
(pooled over all held-out pixels, :class:`~spairkit.evaluation.MaskMetric`). Each
(task, loss) result is merged into the JSON as soon as it is done, so runs can be
split across processes. Not part of CI; docs/benchmarks.md ("Learning") has the
command and the numbers::

    nohup python benchmarks/netl_sparse_masks.py --tasks raindrop --losses bce,bce_batch \\
        > /tmp/netl_raindrop.log 2>&1 &
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / 'results' / 'netl_sparse_masks.json'
TASK_NAMES = ('rain_streak', 'raindrop', 'shadow', 'motion_blur')

#: Mask losses under test (LOSSES configs); 'bce' is the paper's.
LOSS_PRESETS = {
    'bce': dict(type='BCELoss'),
    'bce_batch': dict(type='BCELoss', pos_weight='batch'),
    'dice_bce': dict(type='SumOfLosses', loss_name='loss_mask',
                     losses=[dict(type='BCELoss'), dict(type='DiceLoss')]),
    'dice_bce_batch': dict(type='SumOfLosses', loss_name='loss_mask',
                           losses=[dict(type='BCELoss', pos_weight='batch'),
                                   dict(type='DiceLoss')]),
    'focal': dict(type='FocalLoss', alpha=0.75, gamma=2.0, loss_weight=10.0),
}

#: Net_L networks under test (replacing the demo's ``model.netl``): the demo's dense
#: Net_L, a wider one with a fourth level (twice the receptive field), and Net_L on
#: NAFNet blocks at the demo's parameter count (3 levels) or with a fourth level.
NETL_PRESETS = {
    'demo': None,
    'wide4': dict(type='NetL', base_channels=24, num_levels=4, growth=12,
                  num_dense_layers=3),
    'naf3': dict(type='NAFNetL', width=16, num_levels=3, enc_blocks=[1, 1, 2]),
    'naf4': dict(type='NAFNetL', width=16, num_levels=4, enc_blocks=[1, 1, 1, 2]),
}


def localizer_config(task: str, loss: str, work_dir: Path, iters: int | None,
                     train_patch: int | None = None, netl: str = 'demo',
                     crop: int | None = None):
    from spairkit.config import load_config
    from spairkit.demo.pipeline import use_task
    from spairkit.registry import TASKS

    TASKS.import_from_location()
    task_cls = TASKS.get(task)
    cfg = load_config('spairkit::demo/demo_localizer.py')
    use_task(cfg, task)  # as `spairkit demo --task`: synthesiser, name, demo_options
    cfg.model.mask_loss = LOSS_PRESETS[loss]
    if NETL_PRESETS[netl] is not None:
        cfg.model.netl = dict(NETL_PRESETS[netl])
    if crop is not None:
        cfg.train_dataloader.dataset.pipeline[0].size = crop
        cfg.crop_size = crop
    cfg.model.mask_threshold = float(task_cls.mask_threshold)
    cfg.test_evaluator = [dict(type='MaskMetric')]
    cfg.work_dir = str(work_dir)
    cfg.custom_hooks = []  # no progress bar in a log file
    if train_patch is not None:
        # The synthesisers size drops, streaks and blur relative to the patch they are
        # given, so training patches of the held-out size give degradations of the
        # held-out scale (the demo tests on 160px patches).
        cfg.train_dataloader.dataset.patch_size = train_patch
    if iters is not None:
        cfg.train_cfg.max_iters = iters
        cfg.param_scheduler[0].T_max = iters
        cfg.default_hooks.checkpoint.interval = iters
    return cfg


def run_one(task: str, loss: str, work_root: Path, iters: int | None,
            train_patch: int | None = None, netl: str = 'demo',
            crop: int | None = None) -> dict:
    from spairkit.registry import RUNNERS

    cfg = localizer_config(task, loss, work_root / f'{task}_{loss}_{train_patch}_{netl}_{crop}',
                           iters, train_patch, netl, crop)
    start = time.perf_counter()
    runner = RUNNERS.build(cfg)
    runner.train()
    train_s = time.perf_counter() - start
    metrics = {k.split('/')[-1]: float(v) for k, v in runner.test().items()}
    return {'task': task, 'loss': loss, 'mask_loss': LOSS_PRESETS[loss], 'netl': netl,
            'crop': int(cfg.train_dataloader.dataset.pipeline[0].size),
            'checkpoint': str(Path(cfg.work_dir) / f'iter_{cfg.train_cfg.max_iters}.pth'),
            'iters': int(cfg.train_cfg.max_iters), 'train_s': round(train_s, 1),
            'train_patch': int(cfg.train_dataloader.dataset.patch_size),
            'heldout': {'num': int(cfg.test_dataloader.dataset.num_samples),
                        'size': int(cfg.test_dataloader.dataset.patch_size)},
            **{k: round(v, 4) for k, v in metrics.items()}}


def _key(record: dict) -> tuple:
    return (record['task'], record['loss'], record.get('train_patch'),
            record.get('netl', 'demo'), record.get('crop', 48), record.get('iters'))


def merge(out: Path, record: dict) -> None:
    data = json.loads(out.read_text()) if out.exists() else {'runs': []}
    data['runs'] = [r for r in data['runs']
                    if _key(r) != _key(record)]
    data['runs'].append(record)
    data['runs'].sort(key=lambda r: tuple(str(v) for v in _key(r)))
    tmp = out.with_suffix('.tmp')
    tmp.write_text(json.dumps(data, indent=1) + '\n')
    os.replace(tmp, out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--tasks', default=','.join(TASK_NAMES))
    p.add_argument('--losses', default=','.join(LOSS_PRESETS))
    p.add_argument('--iters', type=int, default=None, help='default: the demo config')
    p.add_argument('--train-patch', type=int, default=None,
                   help='size of the synthesised training patches (default: the demo\'s)')
    p.add_argument('--netl', choices=sorted(NETL_PRESETS), default='demo')
    p.add_argument('--crop', type=int, default=None, help="training crop (default: demo's)")
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--work-dir', type=Path, default=Path('/tmp/netl_sparse_masks'))
    p.add_argument('--out', type=Path, default=RESULTS)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    tasks, losses = args.tasks.split(','), args.losses.split(',')
    for name in losses:
        if name not in LOSS_PRESETS:
            print(f'error: unknown loss {name!r} (known: {", ".join(LOSS_PRESETS)})',
                  file=sys.stderr)
            return 2
    for task in tasks:
        for loss in losses:
            record = run_one(task, loss, args.work_dir, args.iters, args.train_patch,
                             args.netl, args.crop)
            record['threads'] = args.threads
            merge(args.out, record)
            print(json.dumps(record), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
