"""SPAIR's Net_R / Net1's Net_R at forced mask densities, 1 and 2 threads, interleaved.

The issue-13 table: each density's SPAIR call and a Net1 call alternate in one process
(so both see the same machine load), fastest of ``--reps`` rounds each, compiled C++
ops, 256x256 by default. Also the mask-guided share ``t(d) - t(0)`` as a fraction of
``t(0)`` and a least-squares line through ``t(d) - t(0)`` against ``d``. Results are
printed as a table and JSON (``--out``). Not part of CI (docs/benchmarks.md)::

    OMP_WAIT_POLICY=passive python benchmarks/model_ratio.py --threads 1 2
    python benchmarks/model_ratio.py --train-step --densities 0.1 --threads 1 2
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--densities', type=float, nargs='+', default=[0.0, 0.02, 0.1, 0.5, 1.0])
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    p.add_argument('--reps', type=int, default=5)
    p.add_argument('--train-step', action='store_true',
                   help='time one training step of Net_R (forward, L1, backward, Adam) '
                        'instead of a forward')
    p.add_argument('--out', type=Path, default=None)
    args = p.parse_args(argv)
    os.environ.setdefault('SPAIRKIT_OPS_BACKEND', 'cpp')
    import torch

    from spairkit.benchmarking.model_quick import build_restorer, netr_forward, netr_train_step

    make = netr_train_step if args.train_step else netr_forward
    spair, net1 = build_restorer('SPAIR'), build_restorer('Net1')
    base = make(net1, args.size, 1.0)
    runs = {d: make(spair, args.size, d) for d in args.densities}
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for fn in (base, *runs.values()):
            fn()  # warm-up: plans, allocator, thread pool
        best = {d: float('inf') for d in args.densities}
        best_net1 = float('inf')
        for _ in range(args.reps):
            for d, fn in runs.items():
                start = time.perf_counter()
                fn()
                best[d] = min(best[d], time.perf_counter() - start)
                start = time.perf_counter()
                base()
                best_net1 = min(best_net1, time.perf_counter() - start)
        t0 = best.get(0.0)
        for d in args.densities:
            rows.append(dict(threads=threads, density=d, spair_ms=round(1e3 * best[d], 1),
                             net1_ms=round(1e3 * best_net1, 1),
                             ratio=round(best[d] / best_net1, 2),
                             guided_share=(round((best[d] - t0) / t0, 3)
                                           if t0 is not None else None)))
        if t0 is not None:
            xs = [d for d in args.densities if d > 0]
            ys = [best[d] - t0 for d in xs]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / \
                sum((x - mx) ** 2 for x in xs)
            resid = [y - (my + slope * (x - mx)) for x, y in zip(xs, ys)]
            ss_tot = sum((y - my) ** 2 for y in ys)
            r2 = 1 - sum(r * r for r in resid) / ss_tot if ss_tot else 1.0
            rows.append(dict(threads=threads, fit='t(d)-t(0) = a*d + b',
                             a_ms=round(1e3 * slope, 1),
                             b_ms=round(1e3 * (my - slope * mx), 1), r2=round(r2, 3)))
    print('| threads | degraded | SPAIR ms | Net1 ms | SPAIR/Net1 | (t(d)-t(0))/t(0) |')
    print('| --- | --- | --- | --- | --- | --- |')
    for r in rows:
        if 'fit' in r:
            print(f"| {r['threads']} | fit | t(d)-t(0) = {r['a_ms']} ms x d + {r['b_ms']} ms, "
                  f"R² {r['r2']} | | | |")
        else:
            print(f"| {r['threads']} | {r['density']:.0%} | {r['spair_ms']} | {r['net1_ms']} | "
                  f"{r['ratio']} | {r['guided_share']} |")
    record = dict(size=args.size, reps=args.reps, measured='train step' if args.train_step
                  else 'forward', backend=os.environ['SPAIRKIT_OPS_BACKEND'],
                  omp_wait_policy=os.environ.get('OMP_WAIT_POLICY'),
                  load_avg=os.getloadavg(), rows=rows)
    if args.out:
        args.out.write_text(json.dumps(record, indent=1) + '\n')
    print(json.dumps(record))
    return 0


if __name__ == '__main__':
    sys.exit(main())
