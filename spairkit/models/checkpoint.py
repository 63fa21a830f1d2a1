"""Loading the frozen Net_L of the restorer stage from a localizer-stage checkpoint."""
from __future__ import annotations

import os

from torch import nn

from spairkit.checkpoint import latest_checkpoint, load_checkpoint_file
from spairkit.errors import CheckpointError


def _read_state_dict(filename: str) -> dict:
    """The state dict of a checkpoint file, URL or work dir (its latest checkpoint),
    loaded weights-only through :func:`spairkit.checkpoint.load_checkpoint_file`."""
    if '://' not in filename:
        if os.path.isdir(filename):
            # MMEngine's CheckpointHook names the newest checkpoint in last_checkpoint,
            # so a restorer config can point at the localizer's work dir.
            latest = latest_checkpoint(filename)
            if latest is None:
                raise CheckpointError(
                    f"Net_L checkpoint folder '{filename}' has no last_checkpoint file and "
                    'no iter_*.pth; give the .pth file itself')
            filename = str(latest)
        if not os.path.isfile(filename):
            raise CheckpointError(
                f"Net_L checkpoint '{filename}' does not exist; set model.netl_checkpoint "
                'to the checkpoint of a localizer-stage training')
    # URLs too: downloaded to the torch hub cache, then the same weights-only load.
    ckpt = load_checkpoint_file(filename, map_location='cpu')
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
