"""Distributed set-up that MMEngine 0.10.7 gets wrong on CPU-only machines.

MMEngine's ``pytorch`` launcher calls ``torch.cuda.set_device`` unconditionally
and wraps the model with ``device_ids=[local_rank]``, which DDP rejects for CPU
modules. Without CUDA, spairkit initialises the gloo process group itself (from
torchrun's environment) before the Runner is built (the Runner then skips its own
initialisation) and wraps with ``device_ids=None``. With CUDA, MMEngine's own
path (NCCL) is used unchanged.

:func:`distributed_session` also tears the process group down when training ends:
a process that exits with the group alive can abort in interpreter finalisation
("terminate called without an active exception": gloo's worker threads still hold
work objects; pytorch/pytorch#190489), which made the two-process test flaky.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

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
    # Assigned back, not set through setdefault: Config.setdefault stores a copy of a
    # new default, so an edit of the returned dict would be lost.
    env_cfg = dict(cfg.get('env_cfg') or {})
    env_cfg['dist_cfg'] = {**(env_cfg.get('dist_cfg') or {}), 'backend': 'gloo'}
    cfg.env_cfg = env_cfg
    wrapper = cfg.get('model_wrapper_cfg') or {'type': 'MMDistributedDataParallel'}
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if launcher == 'pytorch' and not dist.is_initialized():
        dist.init_process_group(backend='gloo', init_method='env://')


@contextlib.contextmanager
def distributed_session(cfg: Config, launcher: str) -> Iterator[None]:
    """:func:`prepare_distributed`, then destroy the process group on the way out.

    The group is destroyed whether training succeeded or raised, and whoever
    created it (spairkit's gloo set-up or MMEngine's Runner on CUDA); with
    ``launcher='none'`` there is none and nothing happens.
    """
    prepare_distributed(cfg, launcher)
    try:
        yield
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
