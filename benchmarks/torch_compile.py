"""``torch.compile`` (Inductor, ``fullgraph=True``) of the demo's Net_R vs eager.

The compiled operators are ``torch.library`` ops, so the whole Net_R is one graph
(``capture_dynamic_output_shape_ops`` traces the active-site plan's data-dependent
sizes). Prints the first-call (compile) time, the max difference to eager and the
median forward time of each at the given sizes and mask density, with the compiled
C++ ops backend. Not part of CI (docs/benchmarks.md)::

    OMP_NUM_THREADS=1 python benchmarks/torch_compile.py --sizes 128 256 --threads 1
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch


def _median_s(fn, *args, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return sorted(times)[runs // 2]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--sizes', type=int, nargs='+', default=[128, 256])
    p.add_argument('--density', type=float, default=0.1)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--backend', default='inductor')
    args = p.parse_args(argv)
    os.environ.setdefault('SPAIRKIT_OPS_BACKEND', 'cpp')
    torch.set_num_threads(args.threads)
    from spairkit.config import load_config
    from spairkit.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(load_config('spairkit::demo/demo_restorer.py').model).eval()
    rows = []
    for size in args.sizes:
        x = torch.rand(1, 3, size, size)
        mask = (torch.rand(1, 1, size, size) < args.density).float()
        torch._dynamo.reset()
        with torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True), \
                torch.no_grad():
            _, feats = model.netl(x)
            eager = model.netr(x, mask, feats)
            fn = torch.compile(model.netr, fullgraph=True, backend=args.backend)
            start = time.perf_counter()
            out = fn(x, mask, feats)
            first = time.perf_counter() - start
            row = dict(size=size, density=args.density, threads=args.threads,
                       backend=args.backend, compile_s=round(first, 1),
                       max_abs_diff=float((out - eager).abs().max()),
                       eager_ms=round(1e3 * _median_s(model.netr, x, mask, feats), 1),
                       compiled_ms=round(1e3 * _median_s(fn, x, mask, feats), 1))
        row['speedup'] = round(row['eager_ms'] / row['compiled_ms'], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
