"""The demo's two stages with one thing changed: which recipe the demo should use.

Trains the localizer stage from ``--localizer`` (a config; or reuses a localizer-stage
checkpoint ``.pth``) and the restorer stage from ``--restorer`` (a config inheriting
``spairkit::demo/demo_restorer.py``, e.g. one of ``benchmarks/demo_variants/``) on a
task's synthetic data exactly as ``spairkit demo --task`` does (same glue:
``spairkit.demo.pipeline``), then evaluates the demo's held-out photographs: Y-PSNR /
SSIM overall and on the degraded / clean pixels of the task's mask rule, Net_L's mask
scores, parameters and wall times. Each run is appended to ``--out`` (JSON lines).
Not part of CI (docs/benchmarks.md, "Learning")::

    OMP_NUM_THREADS=1 nohup python benchmarks/demo_variants.py --task rain_streak \\
        --localizer benchmarks/demo_variants/loc_patch64.py \\
        --restorer benchmarks/demo_variants/res_patch64.py > /tmp/variant.log 2>&1 &
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / 'results' / 'demo_variants.jsonl'


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--task', default='rain_streak')
    p.add_argument('--localizer', default='spairkit::demo/demo_localizer.py',
                   help='localizer config, or a localizer-stage checkpoint (.pth) to reuse')
    p.add_argument('--restorer', default='spairkit::demo/demo_restorer.py')
    p.add_argument('--work-dir', type=Path, default=Path('/tmp/demo_variants'))
    p.add_argument('--out', type=Path, default=RESULTS)
    args = p.parse_args(argv)

    from spairkit.checkpoint import latest_checkpoint
    from spairkit.demo import pipeline

    work = args.work_dir / f'{args.task}_{Path(args.restorer).stem}'
    record = {'task': args.task, 'localizer': args.localizer, 'restorer': args.restorer}
    start = time.perf_counter()
    if args.localizer.endswith('.pth'):
        netl_ckpt = args.localizer
    else:
        cfg_l = pipeline._stage_config(args.localizer, work / 'localizer', False, args.task)
        pipeline._runner(cfg_l).train()
        netl_ckpt = str(latest_checkpoint(work / 'localizer'))
        record['localizer_s'] = round(time.perf_counter() - start, 1)
    cfg_r = pipeline._stage_config(args.restorer, work / 'restorer', False, args.task)
    if cfg_r.model.get('with_netl', True):
        cfg_r.model.netl_checkpoint = netl_ckpt
    runner = pipeline._runner(cfg_r)
    t_restorer = time.perf_counter()
    runner.train()
    record['restorer_s'] = round(time.perf_counter() - t_restorer, 1)
    record['metrics'] = {k: round(float(v), 4) for k, v in runner.test().items()}
    model = runner.model
    record['params'] = {name: sum(q.numel() for q in getattr(model, name).parameters())
                        for name in ('netl', 'netr') if getattr(model, name, None) is not None}
    record['netl_checkpoint'] = netl_ckpt
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, 'a', encoding='utf-8') as f:
        f.write(json.dumps(record) + '\n')
    print(json.dumps(record), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
