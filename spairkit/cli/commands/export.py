"""``spairkit export CONFIG CHECKPOINT OUTPUT --format onnx|torchscript|exported-program``.

Exports the whole trained restorer (image in [0, 1], ``(N, 3, H, W)``, -> restored
image; Net_L, mask, Net_R; dynamic height and width) with the dense-equivalent
mask-guided operators (docs/export.md), then runs the written file in its runtime
(ONNX Runtime, ``torch.jit.load``, ``torch.export.load``) against the PyTorch model
on test images of each ``--check-sizes`` size and prints the largest difference.

The file is written beside OUTPUT first and moved onto OUTPUT only once it passed
the check, so a failed export never replaces a previous good one. Exit codes: 0
exported and verified; 1 the check failed (nothing written to OUTPUT); 2 a usage
mistake (bad path, format, config or checkpoint), nothing written.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from spairkit.config import add_cfg_options_argument
from spairkit.errors import UserError

NAME = 'export'
HELP = 'export a trained SPAIR restorer to ONNX, TorchScript or a torch.export program'

_FORMATS = ('onnx', 'torchscript', 'exported-program')  # spairkit.export.FORMATS (lazy)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='config the checkpoint was trained with '
                                       '(or spairkit::<packaged path>)')
    parser.add_argument('checkpoint', help='restorer-stage checkpoint (.pth)')
    parser.add_argument('output', help='file to write (e.g. model.onnx, model.pt, model.pt2)')
    parser.add_argument('--format', required=True, metavar='FORMAT', dest='fmt',
                        help=f"one of {', '.join(_FORMATS)}")
    parser.add_argument('--check-sizes', nargs='+', default=['64x96', '128x128'],
                        metavar='HxW', help='image sizes at which the exported file is '
                                            'compared with PyTorch (default 64x96 128x128)')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest accepted absolute difference (default 1e-4)')
    parser.add_argument('--no-verify', action='store_true',
                        help='skip the comparison (e.g. without onnxruntime installed)')
    parser.add_argument('--example-size', default='67x93', metavar='HxW',
                        help='size of the image the graph is traced with (any size works '
                             'afterwards; default 67x93)')
    parser.add_argument('--opset', type=int, default=None,
                        help="ONNX opset (default: the exporter's)")
    parser.add_argument('--device', default='cpu', help="'cpu' (default) or 'cuda[:i]'")
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow checkpoints that need arbitrary unpickling '
                             '(trusted files only)')
    add_cfg_options_argument(parser)


def _sizes(args: argparse.Namespace, min_side: int) -> tuple[tuple[int, int], list]:
    from spairkit.export import parse_size

    try:
        example = parse_size(args.example_size)
        checks = [parse_size(s) for s in args.check_sizes]
    except ValueError as exc:
        raise UserError(f'export: {exc}') from None
    for what, (h, w) in [('--example-size', example)] + [('--check-sizes', c) for c in checks]:
        if min(h, w) < min_side:
            raise UserError(f'export: {what} {h}x{w} is below the smallest side this model '
                            f'exports for ({min_side} pixels: its stride plus one)')
    return example, checks


def _check_args(args: argparse.Namespace) -> None:
    from spairkit.fileio import check_output_paths

    if args.fmt not in _FORMATS:
        raise UserError(f"export: --format {args.fmt!r} is not an export format; use one of "
                        f"{', '.join(_FORMATS)}")
    if not args.tolerance > 0:
        raise UserError(f'export: --tolerance must be > 0, got {args.tolerance}')
    if not os.path.isfile(args.checkpoint):
        what = 'is a folder, not a checkpoint file' if os.path.isdir(args.checkpoint) \
            else 'not found'
        raise UserError(f'export: checkpoint {args.checkpoint} {what}')
    if Path(args.output).is_dir():
        raise UserError(f'export: OUTPUT {args.output} is a folder; give a file name')
    check_output_paths([('OUTPUT', args.output)],
                       [('CONFIG', args.config), ('CHECKPOINT', args.checkpoint)])


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    import torch

    from spairkit.apis import init_restorer
    from spairkit.export import (
        RestorerGraph,
        check_sizes,
        export_graph,
        load_runner,
        min_side,
        missing_packages,
    )

    missing = missing_packages(args.fmt, run=not args.no_verify)
    if missing:
        raise UserError(f"export: --format {args.fmt} needs the Python package(s) "
                        f"{', '.join(missing)} (pip install {' '.join(missing)})"
                        + ('' if args.no_verify else ', or pass --no-verify to skip the check'))
    model = init_restorer(args.config, args.checkpoint, device=args.device,
                          unsafe_load=args.unsafe_load, cfg_options=args.cfg_options)
    graph = RestorerGraph(model)
    example_size, check = _sizes(args, min_side(graph))
    device = next(model.parameters()).device
    example = torch.rand(1, 3, *example_size, generator=torch.Generator().manual_seed(0))

    output = Path(args.output)
    staged = output.with_name(f'.{output.name}.unverified')
    export_graph(graph, args.fmt, staged, example.to(device), opset=args.opset)
    try:
        if not args.no_verify:
            results = check_sizes(graph, load_runner(args.fmt, staged, device), check, device)
            print(f'{"size":>10s}  {"max |exported - pytorch|":>24s}  {"degraded":>8s}  result')
            for r in results:
                verdict = 'ok' if r.passed(args.tolerance) else f'FAIL (> {args.tolerance:g})'
                print(f'{r.height:>4d}x{r.width:<5d}  {r.max_abs_diff:>24.3g}  '
                      f'{r.degraded_fraction:>8.1%}  {verdict}')
            if not all(r.passed(args.tolerance) for r in results):
                print(f'export: the {args.fmt} file does not match PyTorch; {output} was not '
                      'written')
                return 1
        os.replace(staged, output)
    finally:
        staged.unlink(missing_ok=True)
    checked = 'not checked' if args.no_verify else 'checked against PyTorch'
    print(f'exported {args.fmt} to {output} (dynamic height and width >= '
          f'{min_side(graph)}, {checked})')
    return 0
