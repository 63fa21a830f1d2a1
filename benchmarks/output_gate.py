"""Clean pixels with and without SPAIR's output gate, at the demo's Net_R budget.

Trains the demo's Net_R (``configs/demo/demo_restorer.py``) on a task's synthetic data
with a given frozen Net_L checkpoint, once per variant (``none``: the paper's model;
``gate``: ``output_gate=dict(type='MaskGatedBlend', dilation=1)``), and evaluates the
held-out photographs: Y-PSNR/SSIM overall and on the degraded / clean pixels of the
task's mask rule, input and output. Results are merged into
``benchmarks/results/output_gate.json``. Not part of CI (docs/benchmarks.md,
"Learning")::

    nohup python benchmarks/output_gate.py --task rain_streak --variant gate \\
        --netl work/netl/iter_600.pth > /tmp/gate.log 2>&1 &
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / 'results' / 'output_gate.json'
VARIANTS = {'none': None, 'gate': dict(type='MaskGatedBlend', dilation=1)}


def restorer_config(task: str, variant: str, netl: str, work_dir: Path, iters: int | None):
    from spairkit.config import load_config
    from spairkit.tasks import get_task

    task_obj = get_task(task)
    cfg = load_config('spairkit::demo/demo_restorer.py')
    for split in ('train_dataloader', 'test_dataloader'):
        cfg[split].dataset.degradation = dict(task_obj.synthesizer)
        cfg[split].dataset.task = task
    cfg.model.netl_checkpoint = netl
    if VARIANTS[variant] is not None:
        cfg.model.output_gate = VARIANTS[variant]
    cfg.work_dir = str(work_dir)
    cfg.custom_hooks = []
    if iters is not None:
        cfg.train_cfg.max_iters = iters
        cfg.param_scheduler[0].T_max = iters
        cfg.default_hooks.checkpoint.interval = iters
    return cfg


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--task', required=True)
    p.add_argument('--variant', choices=sorted(VARIANTS), required=True)
    p.add_argument('--netl', required=True, help='localizer-stage checkpoint')
    p.add_argument('--iters', type=int, default=None, help='default: the demo config')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--work-dir', type=Path, default=Path('/tmp/output_gate'))
    p.add_argument('--out', type=Path, default=RESULTS)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from spairkit.registry import RUNNERS

    cfg = restorer_config(args.task, args.variant, args.netl,
                          args.work_dir / f'{args.task}_{args.variant}', args.iters)
    start = time.perf_counter()
    runner = RUNNERS.build(cfg)
    runner.train()
    train_s = time.perf_counter() - start
    metrics = {k: round(float(v), 4) for k, v in runner.test().items()}
    record = {'task': args.task, 'variant': args.variant, 'output_gate': VARIANTS[args.variant],
              'netl': args.netl, 'iters': int(cfg.train_cfg.max_iters),
              'train_s': round(train_s, 1), 'threads': args.threads,
              'heldout': {'num': int(cfg.test_dataloader.dataset.num_samples),
                          'size': int(cfg.test_dataloader.dataset.patch_size)},
              'metrics': metrics}
    data = json.loads(args.out.read_text()) if args.out.exists() else {'runs': []}
    data['runs'] = [r for r in data['runs']
                    if (r['task'], r['variant']) != (args.task, args.variant)] + [record]
    tmp = args.out.with_suffix('.tmp')
    tmp.write_text(json.dumps(data, indent=1) + '\n')
    os.replace(tmp, args.out)
    print(json.dumps(record), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
