"""End-to-end inference cost of SPAIR vs Net1: latency and peak memory vs mask density.

Net_R is run with a *forced* mask of an exact degraded fraction (2% ... 100%, clustered
blobs; see spairkit.benchmarking.masks) so that the density, not Net_L, decides the
work; Net_L's own time is reported per size. Net1, the static dense encoder-decoder of
Table 6, calls no mask-guided operator and is timed once per size. Every available
operator backend is compared (compiled C++/CUDA and the pure-PyTorch reference).

Latency: median of up to --reps calls after one warm-up, capped by --budget seconds per
configuration; a configuration whose estimated single call exceeds --skip-over seconds
is listed as skipped (with the estimate), not dropped. Peak memory: RSS high-water mark
of a fresh process per configuration (spairkit.benchmarking.peak_memory).

    python benchmarks/model.py                        # full sweep -> results/model.json
    python benchmarks/model.py --quick --out /tmp/m.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from spairkit.benchmarking.environment import describe_machine, machine_info
from spairkit.benchmarking.model_quick import (
    bench_latency,
    build_restorer,
    count_parameters,
    latency_table,
)
from spairkit.benchmarking.peak_memory import measure_peak_rss
from spairkit.benchmarking.tables import markdown_table

RESULTS = Path(__file__).resolve().parent / 'results' / 'model.json'
MODELS = ('Net1', 'SPAIR')
MEMORY_METHOD = ('fresh process per configuration; forward_mb = RSS high-water mark (VmHWM, '
                 'reset after a warm-up forward) minus the RSS before the forward')


def argv_of(args: argparse.Namespace) -> list[str] | None:
    return getattr(args, 'argv', None)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--quick', action='store_true', help='tiny sizes, one repetition')
    p.add_argument('--sizes', type=int, nargs='+', default=[256, 512, 1024])
    p.add_argument('--densities', type=float, nargs='+',
                   default=[0.02, 0.05, 0.1, 0.25, 0.5, 1.0])
    p.add_argument('--memory-densities', type=float, nargs='*', default=[0.05, 1.0],
                   help='densities whose peak memory is measured (none: skip memory)')
    p.add_argument('--backends', nargs='+', default=None,
                   help='operator backends (default: all available)')
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--budget', type=float, default=10.0,
                   help='seconds per configuration after which no new repetition starts')
    p.add_argument('--skip-over', type=float, default=60.0,
                   help='skip configurations estimated to take longer per call (seconds)')
    p.add_argument('--small', action='store_true',
                   help='the ablation\'s CPU-sized widths instead of the library configs')
    p.add_argument('--threads', type=int, default=1,
                   help='torch CPU threads (1 keeps timings stable on a shared machine)')
    p.add_argument('--out', type=Path, default=RESULTS)
    p.add_argument('--memory-only', action='store_true',
                   help='keep the latency rows already in --out and measure memory again')
    return p


def memory_rows(sizes, densities, backends, small, threads, skipped) -> list[dict]:
    """Peak RSS per model x size x density x backend (Net1: once per size)."""
    rows = []
    for size in sizes:
        rows.append(dict(model='Net1', size=size, density=None, backend='n/a',
                         **measure_peak_rss('Net1', size, 1.0, None, small, threads)))
        for backend in backends:
            for density in densities:
                if ('SPAIR', size, density, backend) in skipped:
                    rows.append(dict(model='SPAIR', size=size, density=density,
                                     backend=backend, note='skipped (latency skipped)'))
                    continue
                rows.append(dict(model='SPAIR', size=size, density=density, backend=backend,
                                 **measure_peak_rss('SPAIR', size, density, backend, small,
                                                    threads)))
        print(f'memory: {size}x{size} done', flush=True)
    return rows


def memory_table(rows) -> str:
    table = [[r['model'], f"{r['size']}x{r['size']}",
              '-' if r['density'] is None else f"{100 * r['density']:g}%", r['backend'],
              r.get('forward_mb'), r.get('peak_mb'), r.get('note', '')] for r in rows]
    return markdown_table(['net', 'size', 'degraded', 'ops backend', 'forward peak MB',
                           'process peak MB', 'note'], table)


def remeasure_memory(args: argparse.Namespace) -> int:
    """Redo the memory rows of an existing results file (its latency rows are kept)."""
    if not args.out.is_file():
        print(f'model.py: error: --memory-only needs an existing {args.out}', file=sys.stderr)
        return 2
    result = json.loads(args.out.read_text())
    settings = result['settings']
    skipped = {(r['model'], r['size'], r['density'], r['backend'])
               for r in result['latency'] if r['median_s'] is None}
    backends = settings['backends'] or result['machine']['ops_backends']
    result['memory'] = memory_rows(settings['sizes'], args.memory_densities, backends,
                                   settings['small'], args.threads, skipped)
    result['memory_method'] = MEMORY_METHOD
    result['memory_command'] = 'python benchmarks/model.py ' + ' '.join(
        sys.argv[1:] if argv_of(args) is None else argv_of(args))
    args.out.write_text(json.dumps(result, indent=2))
    print(memory_table(result['memory']))
    print(f'wrote {args.out}')
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = argv
    if args.memory_only:
        return remeasure_memory(args)
    if args.quick:
        args.sizes, args.densities, args.reps = [32, 64], [0.1, 1.0], 1
        args.memory_densities = [0.1]
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    info = machine_info()
    print(f'benchmarks/model.py on {describe_machine(info)}', flush=True)
    backends = args.backends or info['ops_backends']
    params = {name: count_parameters(build_restorer(name, small=args.small).netr)
              for name in MODELS}
    rows = bench_latency(models=MODELS, sizes=args.sizes, densities=args.densities,
                         backends=backends, reps=args.reps, budget_s=args.budget,
                         skip_over_s=args.skip_over, small=args.small,
                         progress=lambda r: print(r, flush=True))
    print(latency_table(rows), flush=True)
    skipped = {(r.model, r.size, r.density, r.backend) for r in rows if r.median_s is None}
    memory = []
    if args.memory_densities:
        memory = memory_rows(args.sizes, args.memory_densities, backends, args.small,
                             args.threads, skipped)
        print(memory_table(memory))
    result = {
        'machine': info, 'command': 'python benchmarks/model.py '
        + ' '.join(sys.argv[1:] if argv is None else argv),
        'settings': {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        'netr_params': params, 'latency': [r.to_dict() for r in rows], 'memory': memory,
        'memory_method': MEMORY_METHOD,
        'elapsed_s': time.perf_counter() - start,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"total {result['elapsed_s']:.0f} s; wrote {args.out}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
