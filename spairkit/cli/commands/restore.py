"""``spairkit restore CONFIG CHECKPOINT INPUT OUTPUT``: restore an image or a folder.

Exit codes: 0 all images restored; 1 some images failed (every readable image was
still restored, the failures are listed at the end); 2 a usage mistake (bad path,
config, checkpoint, or an output that would overwrite the input), nothing written.
"""
from __future__ import annotations

import argparse
import sys

from spairkit.config import add_cfg_options_argument

NAME = 'restore'
HELP = 'restore an image file or a folder of images with a trained SPAIR checkpoint'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='config the checkpoint was trained with '
                                       '(or spairkit::<packaged path>)')
    parser.add_argument('checkpoint', help='restorer-stage checkpoint (.pth)')
    parser.add_argument('input', help='an image file or a folder of images')
    parser.add_argument('output', help='output image file, or folder (mirrors the input '
                                       'folder; never inside it)')
    parser.add_argument('--recursive', action='store_true',
                        help='also restore images in subfolders of INPUT')
    parser.add_argument('--tile', type=_tile, default='auto', metavar='N|auto',
                        help='restore in NxN tiles; auto (default): the whole image when it '
                             'fits the memory budget, else the largest tiles that do; '
                             '0: always the whole image')
    parser.add_argument('--memory-budget', default=None, metavar='SIZE',
                        help='memory one image may use, e.g. 8G (default: half of this '
                             'machine\'s memory limit, or $SPAIRKIT_MEMORY_BUDGET); images '
                             'whose header declares more than it allows are refused unread')
    parser.add_argument('--tile-overlap', type=int, default=32, metavar='N',
                        help='overlap between tiles in pixels, blended smoothly (default 32)')
    parser.add_argument('--save-mask', action='store_true',
                        help='also write the predicted mask as <name>_mask.png (8-bit)')
    parser.add_argument('--device', default='cpu', help="'cpu' (default) or 'cuda[:i]'")
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow checkpoints that need arbitrary unpickling '
                             '(trusted files only)')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    add_cfg_options_argument(parser)


def _tile(text: str) -> int | str | None:
    if text == 'auto':
        return 'auto'
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of pixels or 'auto', got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be >= 0 (0: whole image), got {value}')
    return value or None


def run(args: argparse.Namespace) -> int:
    from spairkit.apis import init_restorer, plan_restore, restore_files
    from spairkit.apis.tiling import check_tiling
    from spairkit.config import resolve_config_path
    from spairkit.limits import memory_budget_bytes

    check_tiling(args.tile, args.tile_overlap)
    budget = memory_budget_bytes(args.memory_budget)
    plan = plan_restore(args.input, args.output, recursive=args.recursive,
                        save_mask=args.save_mask,
                        other_inputs=[('CONFIG', resolve_config_path(args.config)),
                                      ('CHECKPOINT', args.checkpoint)])
    jobs = plan.jobs
    model = init_restorer(args.config, args.checkpoint, device=args.device,
                          unsafe_load=args.unsafe_load, cfg_options=args.cfg_options)
    failures = restore_files(model, jobs, tile=args.tile, tile_overlap=args.tile_overlap,
                             progress=not args.no_progress, memory_budget=budget)
    done = len(jobs) - len(failures)
    print(f'restored {done} of {len(jobs)} image(s) to {args.output}')
    if plan.skipped:
        names = ', '.join(str(p) for p in plan.skipped[:5])
        more = f' and {len(plan.skipped) - 5} more' if len(plan.skipped) > 5 else ''
        print(f'skipped {len(plan.skipped)} entr{"y" if len(plan.skipped) == 1 else "ies"} '
              f'that are not image files: {names}{more}', file=sys.stderr)
    if failures:
        print(f'{len(failures)} image(s) failed:', file=sys.stderr)
        for failure in failures:
            print(f'  {failure.source}: {failure.reason}', file=sys.stderr)
        return 1
    return 0
