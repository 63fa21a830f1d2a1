"""``SpairkitRunner``: MMEngine's Runner with safe checkpoint loading and atomic saves.

Selected by ``runner_type = 'SpairkitRunner'`` (set in
``configs/_base_/default_runtime.py``). What it changes, and why:

* loading (``load_from``, ``--resume``, ``spairkit test``) goes through
  :func:`spairkit.checkpoint.load_checkpoint_file`: weights-only with an
  allowlist, so resuming works on torch >= 2.6 and a checkpoint cannot run code
  unless the config sets ``unsafe_load = True`` (``--unsafe-load``);
* saving writes a temporary file and renames it, so a kill mid-save never leaves a
  truncated checkpoint, and stores plain values (:class:`PlainCheckpointHook`);
* a NaN/Inf loss stops training before it is checkpointed (:class:`NanGuardHook`);
* ``--resume`` with no checkpoint in the work dir says so instead of silently
  training from scratch.
"""
from __future__ import annotations

import os
import os.path as osp

from mmengine.dist import master_only
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from spairkit.checkpoint import latest_checkpoint, load_checkpoint_file
from spairkit.engine.hooks import NanGuardHook, PlainCheckpointHook
from spairkit.errors import CheckpointError
from spairkit.registry import RUNNERS


@RUNNERS.register_module()
class SpairkitRunner(Runner):
    """Runner whose checkpoints are safe to load and never half-written."""

    @property
    def unsafe_load(self) -> bool:
        return bool(self.cfg.get('unsafe_load', False))

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        super().register_hooks(default_hooks, custom_hooks)
        for hook_type in (PlainCheckpointHook, NanGuardHook):
            if not any(isinstance(h, hook_type) for h in self._hooks):
                self.register_hook(hook_type())

    def load_or_resume(self) -> None:
        if self._resume and self._load_from is None and not self._has_loaded:
            latest = latest_checkpoint(self.work_dir)
            if latest is None:
                raise CheckpointError(
                    f'--resume: no checkpoint to resume from in {self.work_dir}')
            self._load_from = str(latest)
        super().load_or_resume()

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):  # noqa: B006 - MMEngine's API
        checkpoint = load_checkpoint_file(filename, map_location=map_location,
                                          unsafe=self.unsafe_load)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        partial = f'.{filename}.partial'
        super().save_checkpoint(out_dir, partial, *args, **kwargs)
        os.replace(osp.join(out_dir, partial), osp.join(out_dir, filename))
