"""``spairkit test CONFIG CHECKPOINT``: evaluate a checkpoint with the config's test set."""
from __future__ import annotations

import argparse
import json
import math

from spairkit.cli.runner_setup import (
    add_common_runner_arguments,
    build_runner,
    data_roots,
    prepare_config,
)
from spairkit.config import resolve_config_path
from spairkit.fileio import atomic_write_text, check_output_paths

NAME = 'test'
HELP = "evaluate a checkpoint on the config's test set and print its metrics"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='config file (or spairkit::<packaged path>)')
    parser.add_argument('checkpoint', help='checkpoint file (.pth)')
    parser.add_argument('--out', default=None, metavar='JSON', help='write the metrics here')
    parser.add_argument('--save-images', default=None, metavar='DIR',
                        help='also write each restored test image and its predicted mask '
                             '(<name>.png, <name>_mask.png) to DIR')
    add_common_runner_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = prepare_config(args)
    inputs = [('CHECKPOINT', args.checkpoint), ('CONFIG', resolve_config_path(args.config))]
    if args.out:
        check_output_paths([('--out', args.out)], inputs)
    if args.save_images:  # a folder of images: not into the dataset either
        check_output_paths([('--save-images', args.save_images)], inputs + data_roots(cfg))
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.save_images:
        cfg.custom_hooks = [*cfg.get('custom_hooks', []),
                            dict(type='SaveImagesHook', out_dir=args.save_images)]
    runner = build_runner(cfg)
    metrics = runner.test()
    metrics = {k: _jsonable(v) for k, v in (metrics or {}).items()}
    width = max((len(k) for k in metrics), default=0)
    for key, value in metrics.items():
        print(f'{key:<{width}}  {value}')
    if args.out:
        text = json.dumps(metrics, indent=2, sort_keys=True)
        atomic_write_text(args.out, text)
    return 0


def _jsonable(value):
    value = value.item() if hasattr(value, 'item') else value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no inf/nan (an exact PSNR is inf)
    return value
