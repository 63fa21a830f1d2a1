"""The DED ladder (Net1 -> SPAIR) and the NAF ladder (NAF -> NAF+SFM+SC+SNL), one budget.

Every rung's Net_R is width-matched to NAF alone's parameter count, trained on the
demo's recipe at the ladder's budget and evaluated on the demo's held-out photographs
(spairkit/benchmarking/backbone_ladders.py says what is held equal). Writes the JSON
(partial after every model) and prints the tables; docs/benchmarks.md holds the figures.
Not part of CI. Two tasks on two cores, one process each::

    OMP_NUM_THREADS=1 nohup python benchmarks/backbone_ladders.py --tasks rain_streak \\
        --out benchmarks/results/backbone_ladders_rain_streak.json > /tmp/l1.log 2>&1 &
    python benchmarks/backbone_ladders.py --summarise benchmarks/results/backbone_ladders_*.json
    python benchmarks/backbone_ladders.py --step-times --out benchmarks/results/ladder_steps.json
    python benchmarks/backbone_ladders.py --quick --out /tmp/ladders_quick.json  # smoke test
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from spairkit.benchmarking.ablation import parse_names, save_results
from spairkit.benchmarking.backbone_ladders import (
    LadderSettings,
    against_reference,
    run_ladders,
    step_times,
    step_verdicts,
    summarise,
)
from spairkit.benchmarking.environment import machine_info
from spairkit.benchmarking.ladder import FAMILIES
from spairkit.benchmarking.tables import markdown_table
from spairkit.tasks import task_names


def build_parser() -> argparse.ArgumentParser:
    d = LadderSettings()
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--quick', action='store_true',
                   help='a few iterations on tiny images: checks the pipeline, not quality')
    p.add_argument('--tasks', default=','.join(d.tasks))
    p.add_argument('--families', default=','.join(d.families),
                   help=f'comma-separated, from {", ".join(FAMILIES)} (run in this order)')
    p.add_argument('--skip-rungs', default='',
                   help='comma-separated rungs not to train (e.g. Net4: its dense non-local '
                        'costs about 7x a step of the others here)')
    p.add_argument('--rungs', default='',
                   help='comma-separated: train only these rungs (default: every rung)')
    p.add_argument('--no-gate', action='store_true',
                   help='guided rungs without the output gate (an ablation of the gate)')
    p.add_argument('--netl-checkpoint', action='append', default=[], metavar='TASK=PTH',
                   help="reuse a task's Net_L trained earlier by this recipe (repeatable)")
    p.add_argument('--seeds', type=int, nargs='+', default=list(d.seeds))
    p.add_argument('--netr-iters', type=int, default=d.netr_iters)
    p.add_argument('--batch-size', type=int, default=d.batch_size)
    p.add_argument('--crop-size', type=int, default=d.crop_size)
    p.add_argument('--reference-width', type=int, default=d.reference_width,
                   help='width of NAF alone, whose Net_R parameter count every rung matches')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--work-dir', default=d.work_dir)
    p.add_argument('--time-limit', type=float, default=None, metavar='MINUTES',
                   help='start no (family, seed, task) block that would end after this')
    p.add_argument('--out', type=Path, default=Path('benchmarks/results/backbone_ladders.json'))
    p.add_argument('--summarise', type=Path, nargs='+', metavar='JSON',
                   help='train nothing: merge these results files and print the tables')
    p.add_argument('--times', type=Path, default=None, metavar='JSON',
                   help='with --summarise: add the step times of a --step-times run')
    p.add_argument('--step-times', action='store_true',
                   help='train nothing: time one training step and one inference per rung')
    return p


def settings_from(args: argparse.Namespace) -> LadderSettings:
    s = LadderSettings(
        tasks=parse_names(args.tasks, tuple(task_names()), '--tasks'),
        families=parse_names(args.families, tuple(FAMILIES), '--families'),
        seeds=tuple(args.seeds), netr_iters=args.netr_iters, batch_size=args.batch_size,
        crop_size=args.crop_size, reference_width=args.reference_width,
        work_dir=args.work_dir, gate=not args.no_gate)
    all_rungs = tuple(r.name for f in FAMILIES.values() for r in f)
    skip = parse_names(args.skip_rungs, all_rungs, '--skip-rungs') if args.skip_rungs else ()
    if args.rungs:
        only = parse_names(args.rungs, all_rungs, '--rungs')
        skip += tuple(n for n in all_rungs if n not in only and n not in skip)
    s.skip_rungs = skip
    for item in args.netl_checkpoint:
        task, sep, path = item.partition('=')
        if not sep or task not in s.tasks or not Path(path).is_file():
            raise ValueError(f'--netl-checkpoint {item!r}: expected TASK=PATH with TASK one '
                             f'of --tasks and PATH an existing checkpoint')
        s.netl_checkpoints[task] = path
    if args.quick:
        s.netr_iters, s.netl_iters, s.batch_size, s.crop_size = 2, 2, 2, 32
        s.heldout_samples, s.timing_reps, s.curve_points = 1, 1, 1
    return s


def _f(row: dict, key: str, digits: int = 2) -> str:
    if key not in row:
        return '-'
    std = row.get(f'{key}_std')
    return f'{row[key]:.{digits}f}' + (f' ± {std:.{digits}f}' if std is not None else '')


def _ms(times: dict, rung: str, key: str) -> str:
    base = rung.split(',')[0]  # 'NAF+SFM, no gate' times as 'NAF+SFM'
    return f"{times[base][key] * 1e3:.0f}" if base in times else '-'


def tables(results: dict, times: dict | None = None) -> str:
    """The per-rung table (mean ± std over seeds) and the step verdicts; ``times``:
    the step times of ``--step-times`` (same size for every rung), if measured."""
    times = times or {}
    rows = summarise(results)
    body = []
    for r in rows:
        body.append([r['task'], r['rung'], len(r['seeds']), r['width'],
                     f"{r['netr_params'] / 1e3:.0f}k + {r['netl_params'] / 1e3:.0f}k",
                     _f(r, 'PSNR'), _f(r, 'SSIM', 3), _f(r, 'PSNR_degraded'),
                     _f(r, 'PSNR_clean'), _f(r, 'SSIM_degraded', 3), _f(r, 'SSIM_clean', 3),
                     _ms(times, r['rung'], 'train_step_s'), _ms(times, r['rung'], 'infer_s')])
    first = {r['task']: r for r in rows}
    for task, r in first.items():
        body.append([task, 'input', '-', '-', '-'] + [
            f"{r[k]:.{d}f}" if k in r else '-' for k, d in (
                ('input_PSNR', 2), ('input_SSIM', 3), ('input_PSNR_degraded', 2),
                ('input_PSNR_clean', 2), ('input_SSIM_degraded', 3),
                ('input_SSIM_clean', 3))] + ['-', '-'])
    out = markdown_table(['task', 'rung', 'seeds', 'width', 'params R + L', 'PSNR', 'SSIM',
                          'PSNR deg', 'PSNR clean', 'SSIM deg', 'SSIM clean',
                          'train step ms', 'infer ms'], body)
    verdicts = [[v['task'], v['family'], f"{v['from']} -> {v['to']}", f"{v['gain']:+.2f}",
                 '-' if v['noise'] is None else f"{v['noise']:.2f}",
                 v['verdict'] or 'no verdict (1 seed)']
                for v in step_verdicts(rows)]
    versus = [[v['task'], v['rung'], f"{v['degraded']:+.2f}", f"{v['clean']:+.2f}",
               'met' if v['meets'] else 'not met'] for v in against_reference(rows)]
    return (out + '\n\n' + markdown_table(
        ['task', 'family', 'step', 'gain degraded dB', '2 x spread', 'verdict'], verdicts)
        + '\n\n' + markdown_table(['task', 'rung', 'vs NAF: degraded dB', 'clean dB',
                                    'target (>= +0.5, >= 0)'], versus))


def merge(paths: list[Path]) -> dict:
    merged: dict = {'runs': [], 'localizers': {}, 'not_run': [], 'sources': []}
    for path in paths:
        data = json.loads(path.read_text())
        merged['runs'] += data.get('runs', [])
        merged['localizers'].update(data.get('localizers', {}))
        merged['not_run'] += data.get('not_run', [])
        merged['sources'].append(str(path))
    return merged


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
    except ValueError as exc:
        print(f'backbone_ladders: error: {exc}', file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    header = {'machine': machine_info(), 'threads': args.threads, 'command':
              'python benchmarks/backbone_ladders.py '
              + ' '.join(sys.argv[1:] if argv is None else argv)}
    if args.summarise:
        missing = [str(p) for p in args.summarise if not p.is_file()]
        if missing:
            print(f'backbone_ladders: error: no results file {missing[0]}', file=sys.stderr)
            return 2
        times = json.loads(args.times.read_text())['step_times'] if args.times else None
        print(tables(merge(args.summarise), times))
        return 0
    if args.step_times:
        times = step_times(settings)
        save_results(dict(header, settings=settings.to_dict(), step_times=times), args.out)
        print(markdown_table(['rung', 'train step ms', 'inference ms'], [
            [name, f"{t['train_step_s'] * 1e3:.0f}", f"{t['infer_s'] * 1e3:.0f}"]
            for name, t in times.items()]))
        return 0
    start = time.perf_counter()

    def checkpoint(results: dict) -> None:
        save_results(dict(header, **results, partial=True,
                          elapsed_s=time.perf_counter() - start), args.out)

    limit = None if args.time_limit is None else 60 * args.time_limit
    results = run_ladders(settings, log=lambda m: print(m, flush=True), on_result=checkpoint,
                          time_limit_s=limit)
    results = dict(header, **results, partial=False, elapsed_s=time.perf_counter() - start)
    save_results(results, args.out)
    print(tables(results))
    print(f"total {results['elapsed_s']:.0f} s; wrote {args.out}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
