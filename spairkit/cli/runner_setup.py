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
    parser.add_argument('--non-strict', action='store_true',
                        help='load a checkpoint that does not fit the model exactly (only the '
                             'matching weights; the config key load_strict=False does the same)')
    add_cfg_options_argument(parser)


def prepare_config(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = str(Path('work_dirs') / Path(str(args.config).split('::')[-1]).stem)
    if args.unsafe_load:
        cfg.unsafe_load = True
    if args.non_strict:
        cfg.load_strict = False
    cfg.setdefault('runner_type', 'SpairkitRunner')
    return cfg


def check_checkpoint(path: str) -> None:
    if '://' not in str(path) and not Path(path).is_file():
        raise CheckpointError(f'checkpoint not found: {path}')


def data_roots(cfg: Config) -> list[tuple[str, str]]:
    """``(key, folder)`` of every dataset root a config reads (inputs of the command)."""
    found = []
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        dataset = loader.get('dataset') if isinstance(loader, dict) else None
        if isinstance(dataset, dict) and isinstance(dataset.get('data_root'), str):
            found.append((f'{split}_dataloader.dataset.data_root', dataset['data_root']))
    return found


def build_runner(cfg: Config):
    """Build the runner named by ``cfg.runner_type`` from spairkit's RUNNERS registry."""
    from spairkit.config_validation import validate_config
    from spairkit.registry import RUNNERS

    load_from = cfg.get('load_from')
    if load_from:
        check_checkpoint(load_from)
    validate_config(cfg)
    return RUNNERS.build(cfg)
