"""Stop training at the first NaN/Inf loss, before a checkpoint of it is written."""
from __future__ import annotations

import math

from mmengine.hooks import Hook

from spairkit.checkpoint import latest_checkpoint
from spairkit.errors import UserError
from spairkit.registry import HOOKS


class TrainingDivergedError(UserError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""

    exit_code = 3


@HOOKS.register_module()
class NanGuardHook(Hook):
    """Raises :class:`TrainingDivergedError` when a logged loss is not finite.

    Runs right after the optimizer step and before ``CheckpointHook`` (which
    has the lowest priority among after-iteration hooks), so the diverged
    weights are never saved and the newest checkpoint on disk is the last good
    one. :class:`~spairkit.engine.runner.SpairkitRunner` always registers it.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        for key, value in (outputs or {}).items():
            if 'loss' not in key:
                continue
            number = float(value.detach().float().mean()) if hasattr(value, 'detach') \
                else float(value)
            if not math.isfinite(number):
                last = latest_checkpoint(runner.work_dir)
                kept = f'last good checkpoint: {last}' if last else 'no checkpoint was saved yet'
                raise TrainingDivergedError(
                    f'{key} became {number} at iteration {runner.iter + 1}; training stopped '
                    f'({kept}); lower the learning rate or check the data, then --resume')
