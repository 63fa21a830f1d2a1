"""Distributed set-up that MMEngine 0.10.7 gets wrong on CPU-only machines.

MMEngine's ``pytorch`` launcher calls ``torch.cuda.set_device`` unconditionally
and wraps the model with ``device_ids=[local_rank]``, which DDP rejects for CPU
modules. Without CUDA, spairkit initialises the gloo process group itself (from
torchrun's environment) before the Runner is built (the Runner then skips its own
initialisation) and wraps with ``device_ids=None``. With CUDA, MMEngine's own
path (NCCL) is used unchanged.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist
from mmengine.config import Config

from spairkit.errors import ConfigError


def prepare_distributed(cfg: Config, launcher: str) -> None:
    """Adjust ``cfg`` (and initialise gloo on CPU) for ``launcher``."""
    cfg.launcher = launcher
    if launcher == 'none':
        return
    if launcher == 'pytorch' and 'RANK' not in os.environ:
        raise ConfigError('--launcher pytorch needs torchrun (RANK/WORLD_SIZE are not set), '
                          'e.g. torchrun --nproc_per_node=2 -m spairkit.cli.main train CONFIG '
                          '--launcher pytorch')
    if torch.cuda.is_available():
        return
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or {'type': 'MMDistributedDataParallel'}
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if launcher == 'pytorch' and not dist.is_initialized():
        dist.init_process_group(backend='gloo', init_method='env://')
