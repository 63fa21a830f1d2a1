"""``spairkit train CONFIG``: train with MMEngine's Runner."""
from __future__ import annotations

import argparse

import torch
from mmengine.config import Config

from spairkit.cli.runner_setup import add_common_runner_arguments, build_runner, prepare_config
from spairkit.engine.distributed import distributed_session
from spairkit.engine.work_dir_lock import work_dir_lock

NAME = 'train'
HELP = 'train a model from a config file'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='config file (or spairkit::<packaged path>)')
    parser.add_argument(
        '--resume', nargs='?', const='auto', default=None, metavar='CKPT',
        help='resume from CKPT, or from the latest checkpoint in the work dir if no CKPT')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (bf16 on CPU, fp16 on CUDA)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='distributed launcher (pytorch: under torchrun)')
    add_common_runner_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = prepare_config(args)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.amp:
        enable_amp(cfg)
    if args.seed is not None:
        cfg.setdefault('randomness', {})['seed'] = args.seed
    with distributed_session(cfg, args.launcher), work_dir_lock(cfg.work_dir):
        # the lock is taken before the runner writes logs or checkpoints
        runner = build_runner(cfg)
        runner.train()
    return 0


def enable_amp(cfg: Config) -> None:
    """fp16 with loss scaling on CUDA (MMEngine's wrapper), bf16 autocast on CPU."""
    wrapper = cfg.optim_wrapper
    if torch.cuda.is_available():
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('dtype', 'float16')
    else:
        wrapper.type = 'CPUAutocastOptimWrapper'
        wrapper.setdefault('dtype', 'bfloat16')
