"""MMEngine's CheckpointHook, rotating only after the new checkpoint is complete.

Why: MMEngine 0.10.7's ``CheckpointHook`` deletes the oldest kept checkpoint *before*
writing the new one, so with ``max_keep_ckpts=1`` a kill while the new file is being
written leaves no checkpoint at all and ``--resume`` has nothing to resume from. This
hook writes the new checkpoint (atomically, see :class:`SpairkitRunner`) and its
``last_checkpoint`` pointer first and deletes what falls out of ``max_keep_ckpts``
afterwards. ``SpairkitRunner`` substitutes it for ``CheckpointHook`` in every config.
A kill between the two steps leaves one checkpoint too many; the next run's
``before_train`` (MMEngine's) deletes it.
"""
from __future__ import annotations

from collections import deque

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from spairkit.registry import HOOKS


@HOOKS.register_module()
class SpairkitCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose rotation never leaves the work dir without a checkpoint."""

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.max_keep_ckpts > 0:
            # No maxlen: the oldest id leaves the deque when its file is deleted.
            self.keep_ckpt_ids = deque(self.keep_ckpt_ids)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        keep = self.max_keep_ckpts
        if keep > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        self.max_keep_ckpts = -1  # the parent's rotation (delete, then save) is skipped
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = keep
        if keep <= 0:
            return
        while len(self.keep_ckpt_ids) > keep:
            old = self.keep_ckpt_ids.popleft()
            if is_main_process():
                path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
                if self.file_backend.isfile(path):
                    self.file_backend.remove(path)
                elif self.file_backend.isdir(path):
                    self.file_backend.rmtree(path)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
