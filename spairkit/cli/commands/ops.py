"""``spairkit ops info|build``: the compiled operator backends.

``info`` reports which backends can run, the torch/CUDA/compiler versions and where
the build lives, without compiling anything (a backend that is not built yet is
reported as "compiles on first use"). ``build`` compiles ahead of time, e.g. in a
Docker image or before a multi-process run, and prints where the library is.
"""
from __future__ import annotations

import argparse

from spairkit.errors import UserError

NAME = 'ops'
HELP = 'show which operator backends are available (info) or compile them (build)'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest='ops_action', metavar='ACTION', required=True)
    sub.add_parser('info', help='backends, versions and build location (compiles nothing)',
                   description='backends, versions and build location (compiles nothing)')
    build = sub.add_parser('build', help='compile the C++ (and CUDA) operators now',
                           description='compile the C++ (and CUDA) operators now')
    cuda = build.add_mutually_exclusive_group()
    cuda.add_argument('--cuda', dest='cuda', action='store_true', default=None,
                      help='include the CUDA kernels (needs a GPU and a CUDA toolkit)')
    cuda.add_argument('--no-cuda', dest='cuda', action='store_false',
                      help='build the CPU kernels only')
    build.add_argument('--verbose', action='store_true', help='show the compiler commands')


def _info() -> int:
    import torch

    from spairkit.ops import _build, compiled

    status = compiled.build_status()
    print('spairkit operator backends')
    print('  torch  : available (pure-PyTorch reference, always)')
    if status['error']:
        cpp = f"unavailable: {status['error']}"
    elif status['built']:
        cpp = 'built'
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

    if args.cuda and _build.cuda_toolkit() is None:
        raise UserError('ops build --cuda: needs a CUDA device visible to PyTorch and a CUDA '
                        'toolkit (nvcc under CUDA_HOME); use --no-cuda for the CPU kernels')
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


def run(args: argparse.Namespace) -> int:
    if args.ops_action == 'info':
        return _info()
    return _build_now(args)
