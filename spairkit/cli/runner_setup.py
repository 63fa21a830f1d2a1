"""What ``train`` and ``test`` share: config preparation and runner construction."""
from __future__ import annotations

import argparse
from pathlib import Path

from mmengine.config import Config

from spairkit.config import add_cfg_options_argument, load_config
from spairkit.errors import CheckpointError


def add_common_runner_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', default=None,
                        help='where logs and checkpoints go (default: work_dirs/<config name>)')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow checkpoints that need arbitrary unpickling '
                             '(trusted files only)')
    add_cfg_options_argument(parser)


def prepare_config(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = str(Path('work_dirs') / Path(str(args.config).split('::')[-1]).stem)
    if args.unsafe_load:
        cfg.unsafe_load = True
    cfg.setdefault('runner_type', 'SpairkitRunner')
    return cfg


def check_checkpoint(path: str) -> None:
    if not Path(path).is_file():
        raise CheckpointError(f'checkpoint not found: {path}')


def build_runner(cfg: Config):
    """Build the runner named by ``cfg.runner_type`` from spairkit's RUNNERS registry."""
    from spairkit.config_validation import validate_config
    from spairkit.registry import RUNNERS

    load_from = cfg.get('load_from')
    if load_from:
        check_checkpoint(load_from)
    validate_config(cfg)
    return RUNNERS.build(cfg)
