"""``spairkit bench``: measure this machine in about a minute.

Runs the quick operator benchmark (each SPAIR operator per backend and mask density,
against the dense convolution) and the quick model benchmark (Net_R of SPAIR against
Net1 at forced mask densities) and prints both tables. The full sweeps, plots and the
Table 6 ablation are ``benchmarks/{ops,model,ablation}.py`` (see docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from spairkit.errors import UserError

NAME = 'bench'
HELP = 'time the SPAIR operators and SPAIR vs Net1 on this machine (about a minute)'
PARTS = ('ops', 'model')


def _density(text: str) -> float:
    try:
        value = float(text.rstrip('%')) / (100.0 if text.endswith('%') else 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(f'bad density {text!r}: use e.g. 0.05 or 5%') from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f'density {text!r} is outside [0, 1]')
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}')
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--only', choices=PARTS, default=None,
                        help='run only the operator or only the model benchmark')
    parser.add_argument('--quick', action='store_true',
                        help='smallest settings (a few seconds; a smoke test, noisy numbers)')
    parser.add_argument('--size', type=_positive_int, default=None,
                        help='image side of the model benchmark (default 128; --quick 32)')
    parser.add_argument('--densities', type=_density, nargs='+', default=None,
                        metavar='D', help='degraded fractions, e.g. 0.05 0.25 1 or 5%% 25%%')
    parser.add_argument('--backends', nargs='+', default=None, metavar='NAME',
                        help='operator backends to compare (default: all available here)')
    parser.add_argument('--reps', type=_positive_int, default=None,
                        help='timed repetitions per configuration (default 3; --quick 1)')
    parser.add_argument('--threads', type=_positive_int, default=None,
                        help='torch CPU threads (default: torch\'s choice)')
    parser.add_argument('--json', type=Path, default=None, metavar='FILE',
                        help='also write the rows and the machine description as JSON')


def _check_backends(names: list[str] | None) -> list[str] | None:
    if names is None:
        return None
    from spairkit.ops import BACKENDS, backend_status

    for name in names:
        if name not in BACKENDS:
            raise UserError(f'bench --backends: unknown backend {name!r} '
                            f'(choose from {", ".join(BACKENDS)})')
    status = backend_status()
    for name in names:
        if status[name] is not None:
            raise UserError(f'bench --backends: backend {name!r} is not available here: '
                            f'{status[name]}')
    return names


def run(args: argparse.Namespace) -> int:
    import torch

    from spairkit.benchmarking.environment import describe_machine, machine_info
    from spairkit.benchmarking.model_quick import QUICK_SIZE, bench_latency, latency_table
    from spairkit.benchmarking.ops_quick import QUICK_SHAPES, bench_ops, ops_table

    if args.json is not None and not args.json.parent.is_dir():
        raise UserError(f'bench --json: folder {args.json.parent} does not exist')
    backends = _check_backends(args.backends)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    reps = args.reps or (1 if args.quick else 3)
    info = machine_info()
    print(f'spairkit bench on {describe_machine(info)}')
    result: dict = {'machine': info}
    if args.only in (None, 'ops'):
        shapes = ({op: (32, 8) for op in QUICK_SHAPES} if args.quick else None)
        kwargs = {} if args.densities is None else {'densities': args.densities}
        rows = bench_ops(backends=backends, shapes=shapes, reps=reps, **kwargs)
        print('\nOperators (median of repeated calls, no autograd)\n')
        print(ops_table(rows))
        result['ops'] = [r.to_dict() for r in rows]
    if args.only in (None, 'model'):
        size = args.size or (32 if args.quick else QUICK_SIZE)
        kwargs = {} if args.densities is None else {'densities': args.densities}
        rows = bench_latency(sizes=(size,), backends=backends, reps=reps,
                             small=args.quick, **kwargs)
        print('\nNet_R inference at forced mask densities: SPAIR vs Net1 '
              f"({'ablation' if args.quick else 'library'} widths, random weights)\n")
        print(latency_table(rows))
        result['model'] = [r.to_dict() for r in rows]
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
        print(f'\nwrote {args.json}')
    return 0
