"""Table 6 ablation of SPAIR on this machine: Net1, Net2, Net3, Net4, SPAIR.

Trains every rung under one fixed CPU budget (same iterations, batch, crops, seed, one
shared Net_L per task) on rain streaks and raindrops synthesised over the scikit-image
photographs, evaluates on held-out photographs (PSNR/SSIM on Y, overall / degraded /
clean pixels), and writes ``benchmarks/results/ablation.json`` plus a Markdown table.
Not part of CI; see docs/benchmarks.md for the command and the numbers::

    nohup python benchmarks/ablation.py > /tmp/ablation.log 2>&1 &
    python benchmarks/ablation.py --quick --out /tmp/ablation_quick.json   # smoke test
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from spairkit.benchmarking.ablation import (
    AblationSettings,
    ablation_table,
    parse_names,
    run_ablation,
    save_results,
    summarise,
)
from spairkit.benchmarking.environment import machine_info
from spairkit.benchmarking.ladder import RUNG_NAMES
from spairkit.tasks import task_names

RESULTS = Path(__file__).resolve().parent / 'results' / 'ablation.json'


def build_parser() -> argparse.ArgumentParser:
    defaults = AblationSettings()
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--quick', action='store_true',
                   help='a few iterations on tiny images: checks the pipeline, not quality')
    p.add_argument('--tasks', default=','.join(defaults.tasks),
                   help='comma-separated registered tasks (spairkit list tasks); each '
                        "trains on its own synthesiser and protocol")
    p.add_argument('--rungs', default=','.join(defaults.rungs),
                   help=f'comma-separated, from {", ".join(RUNG_NAMES)}')
    p.add_argument('--seeds', type=int, nargs='+', default=list(defaults.seeds))
    p.add_argument('--netl-iters', type=int, default=defaults.netl_iters)
    p.add_argument('--netr-iters', type=int, default=defaults.netr_iters)
    p.add_argument('--batch-size', type=int, default=defaults.batch_size)
    p.add_argument('--crop-size', type=int, default=defaults.crop_size)
    p.add_argument('--heldout', type=int, default=defaults.heldout_samples,
                   help='number of held-out images')
    p.add_argument('--heldout-size', type=int, default=defaults.heldout_size)
    p.add_argument('--threads', type=int, default=1,
                   help='torch CPU threads (1: on a shared 2-core machine, two threads '
                        'per process stall each other and the timings swing 5-20x)')
    p.add_argument('--work-dir', default=defaults.work_dir,
                   help='checkpoints and logs of every trained model')
    p.add_argument('--out', type=Path, default=RESULTS, help='results JSON')
    p.add_argument('--netl-pos-weight', type=float, default=None,
                   help='BCE weight of degraded pixels for Net_L (sparse degradations)')
    p.add_argument('--summarise', action='store_true',
                   help='train nothing: add the summary to the (partial) results in --out, '
                        'e.g. of a run that was stopped, and print the table')
    p.add_argument('--time-limit', type=float, default=None, metavar='MINUTES',
                   help='start no (seed, task) block that would end after this many minutes')
    return p


def settings_from(args: argparse.Namespace) -> AblationSettings:
    settings = AblationSettings(
        tasks=parse_names(args.tasks, tuple(task_names()), '--tasks'),
        rungs=parse_names(args.rungs, RUNG_NAMES, '--rungs'),
        seeds=tuple(args.seeds), netl_iters=args.netl_iters, netr_iters=args.netr_iters,
        batch_size=args.batch_size, crop_size=args.crop_size,
        heldout_samples=args.heldout, heldout_size=args.heldout_size,
        work_dir=args.work_dir, netl_pos_weight=args.netl_pos_weight)
    if args.quick:
        settings.netl_iters = settings.netr_iters = 2
        settings.batch_size, settings.crop_size, settings.patch_size = 2, 16, 24
        settings.heldout_samples, settings.heldout_size = 1, 32
        settings.train_samples, settings.timing_reps = 16, 1
    return settings


def summarise_file(path: Path) -> int:
    """Summarise the runs already in ``path`` (a run that was stopped keeps its runs)."""
    if not path.is_file():
        print(f'ablation: error: no results file {path}', file=sys.stderr)
        return 2
    results = json.loads(path.read_text())
    if not results.get('runs'):
        print(f'ablation: error: {path} holds no finished run', file=sys.stderr)
        return 2
    results['summary'] = summarise(results)
    save_results(results, path)
    print(ablation_table(results['summary']))
    for item in results.get('not_run', []):
        print(f"not run: {item['task']} seed {item['seed']} ({item['reason']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
    except ValueError as exc:
        print(f'ablation: error: {exc}', file=sys.stderr)
        return 2
    if args.summarise:
        return summarise_file(args.out)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    header = {'machine': machine_info(), 'command': 'python benchmarks/ablation.py '
              + ' '.join(sys.argv[1:] if argv is None else argv), 'quick': args.quick}

    def checkpoint(results: dict) -> None:
        save_results(dict(header, **results, partial=True,
                          elapsed_s=time.perf_counter() - start), args.out)

    limit = None if args.time_limit is None else 60 * args.time_limit
    results = run_ablation(settings, log=lambda m: print(m, flush=True), on_result=checkpoint,
                           time_limit_s=limit)
    results = dict(header, **results, partial=False, elapsed_s=time.perf_counter() - start,
                   summary=summarise(results))
    save_results(results, args.out)
    print(ablation_table(results['summary']))
    for item in results['not_run']:
        print(f"not run: {item['task']} seed {item['seed']} ({item['reason']})")
    print(f"total {results['elapsed_s']:.0f} s; wrote {args.out}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
