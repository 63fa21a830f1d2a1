"""Loading the frozen Net_L of the restorer stage from a localizer-stage checkpoint."""
from __future__ import annotations

import os

import torch
from torch import nn

from spairkit.errors import CheckpointError


def resolve_work_dir(path: str) -> str:
    """A training work dir -> the checkpoint its ``last_checkpoint`` file names.

    MMEngine's CheckpointHook writes ``last_checkpoint`` (a one-line path) beside the
    ``iter_N.pth`` files, so a restorer config can point at the localizer's work dir.
    """
    if not os.path.isdir(path):
        return path
    pointer = os.path.join(path, 'last_checkpoint')
    if not os.path.isfile(pointer):
        raise CheckpointError(f"Net_L checkpoint folder '{path}' has no last_checkpoint "
                              'file; give the .pth file itself')
    with open(pointer, encoding='utf-8') as f:
        target = f.read().strip()
    if not os.path.isabs(target) and not os.path.isfile(target):
        target = os.path.join(path, os.path.basename(target))
    return target


def _read_state_dict(filename: str) -> dict:
    """The state dict of an MMEngine checkpoint, loaded without executing code."""
    if '://' in filename:
        from mmengine.runner.checkpoint import _load_checkpoint
        loader = _load_checkpoint
    else:
        filename = resolve_work_dir(filename)
        if not os.path.isfile(filename):
            raise CheckpointError(
                f"Net_L checkpoint '{filename}' does not exist; set model.netl_checkpoint "
                'to the checkpoint of a localizer-stage training')

        def loader(path, map_location):
            return torch.load(path, map_location=map_location, weights_only=True)
    try:
        ckpt = loader(filename, map_location='cpu')
    except Exception as exc:  # noqa: BLE001 - any read failure is the file's fault
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"cannot read Net_L checkpoint '{filename}' (weights only): {first}") from exc
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"Net_L checkpoint '{filename}' holds no state dict")
    return state


def load_prefixed_weights(module: nn.Module, filename: str, prefix: str = 'netl.') -> None:
    """Load the ``prefix``-ed weights of ``filename`` into ``module``, all of them exactly.

    A localizer-stage SPAIR checkpoint stores Net_L as ``netl.*`` (``module.netl.*`` when
    saved from a DDP wrapper). Missing, unexpected or mis-shaped weights are a
    :class:`CheckpointError` naming the file, never a partial load.
    """
    state = _read_state_dict(filename)
    sub = {}
    for key, value in state.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        if key.startswith(prefix):
            sub[key[len(prefix):]] = value
    if not sub:
        raise CheckpointError(
            f"checkpoint '{filename}' has no '{prefix}*' weights; is it a checkpoint of a "
            "localizer-stage SPAIR model?")
    try:
        missing, unexpected = module.load_state_dict(sub, strict=False)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise CheckpointError(
            f"checkpoint '{filename}' does not fit this Net_L: {detail}") from exc
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint '{filename}' does not fit this Net_L: missing {sorted(missing)[:3]}, "
            f'unexpected {sorted(unexpected)[:3]} (compare the netl config with the one '
            'used for the localizer training)')
