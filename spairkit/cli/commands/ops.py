"""``spairkit ops info|build|check``: the compiled operator backends.

``info`` reports which backends can run, the torch/CUDA/compiler versions and where
the build lives, without compiling anything (a backend that is not built yet is
reported as "compiles on first use"). ``build`` compiles ahead of time, e.g. in a
Docker image or before a multi-process run, and prints where the library is.
``check`` runs every backend available on the device against the reference
(:mod:`spairkit.ops.selfcheck`), prints a pass/fail table with the worst errors and
exits 1 if any operator is wrong.
"""
from __future__ import annotations

import argparse

from spairkit.errors import UserError

NAME = 'ops'
HELP = ('show which operator backends are available (info), compile them (build) or '
        'check them against the reference (check)')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest='ops_action', metavar='ACTION', required=True)
    sub.add_parser('info', help='backends, versions and build location (compiles nothing)',
                   description='backends, versions and build location (compiles nothing)')
    build = sub.add_parser('build', help='compile the C++ (and CUDA) operators now',
                           description='compile the C++ (and CUDA) operators now')
    cuda = build.add_mutually_exclusive_group()
    cuda.add_argument('--cuda', dest='cuda', action='store_true', default=None,
                      help='include the CUDA kernels (needs nvcc, not a GPU: without one '
                           'the target is TORCH_CUDA_ARCH_LIST, default 9.0)')
    cuda.add_argument('--no-cuda', dest='cuda', action='store_false',
                      help='build the CPU kernels only')
    build.add_argument('--verbose', action='store_true', help='show the compiler commands')
    check = sub.add_parser('check', help='check every available backend against the reference',
                           description='run each available backend against the pure-PyTorch '
                                       'reference (forward and backward, random shapes, '
                                       'empty and full masks); exit 1 on any failure')
    check.add_argument('--device', default='cpu', choices=('cpu', 'cuda'),
                       help='check the CPU backends (default) or the CUDA backend')


def _info() -> int:
    import torch

    from spairkit.ops import _build, compiled

    status = compiled.build_status()
    print('spairkit operator backends')
    print('  torch  : available (pure-PyTorch reference, always)')
    if status['error']:
        cpp = f"unavailable: {status['error']}"
    elif status['built']:
        cpp = f"built (CPU kernels: {compiled.load('cpp').cpu_isa()})"
    else:
        cpp = 'not built yet (compiles on first use, or run `spairkit ops build`)'
    print(f'  cpp    : {cpp}')
    if not torch.cuda.is_available():
        cuda = 'unavailable: no CUDA device is visible to PyTorch'
    elif not status['with_cuda']:
        cuda = 'unavailable: no CUDA toolkit (nvcc) found for building the kernels'
    else:
        cuda = cpp
    print(f'  cuda   : {cuda}')
    print('build')
    print(f"  flavour : {'CPU + CUDA' if status['with_cuda'] else 'CPU only'}")
    print(f"  sources : {status.get('sources') or '-'}")
    print(f"  location: {status['build_dir'] or '-'}")
    print('toolchain')
    for key, value in _build.toolchain_info().items():
        print(f'  {key:12s}: {value if value is not None else "-"}')
    return 0


def _build_now(args: argparse.Namespace) -> int:
    from spairkit.ops import _build, compiled

    if args.cuda and _build.nvcc_toolkit() is None:
        raise UserError('ops build --cuda: needs a CUDA build of torch and a CUDA toolkit '
                        '(nvcc under CUDA_HOME or on PATH; no GPU needed); use --no-cuda for '
                        'the CPU kernels')
    try:
        spec = compiled.build(with_cuda=args.cuda, verbose=args.verbose)
    except FileNotFoundError as exc:
        raise UserError(f'ops build: {exc}') from None
    except Exception as exc:  # noqa: BLE001 - a compiler failure is reported, not a traceback
        with_cuda = compiled.default_with_cuda() if args.cuda is None else args.cuda
        log = _build.build_spec(with_cuda).log_file
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise UserError(f'ops build: compiling failed ({first.strip()}); compiler output in '
                        f'{log} (rerun with --verbose)') from None
    print(f"built {'CPU + CUDA' if spec.with_cuda else 'CPU'} operators: {spec.library}")
    print(f'build directory: {spec.build_dir}')
    return 0


def _check(args: argparse.Namespace) -> int:
    import time

    import torch

    from spairkit.ops import compiled, selfcheck

    if args.device == 'cuda' and not torch.cuda.is_available():
        raise UserError('ops check --device cuda: no CUDA device is visible to PyTorch')
    if not compiled.build_status()['built']:
        print('compiling the operators first (once; `spairkit ops build` does it ahead)',
              flush=True)
    backends, skipped = selfcheck.backends_for(args.device)  # builds if needed
    start = time.monotonic()
    for name, reason in skipped.items():
        print(f'{name}: not checked ({reason})')
    results = selfcheck.run_checks(args.device, backends)
    print(selfcheck.format_table(results))
    failed = [r for r in results if not r.passed]
    verdict = (f'{len(failed)} of {len(results)} FAILED' if failed
               else f'all {len(results)} passed')
    print(f'ops check ({args.device}, backends: {", ".join(backends)}): {verdict} in '
          f'{time.monotonic() - start:.1f} s')
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    if args.ops_action == 'info':
        return _info()
    if args.ops_action == 'check':
        return _check(args)
    return _build_now(args)
