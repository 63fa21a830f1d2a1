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
  training from scratch;
* loading is strict: a checkpoint that does not fit the model (missing, unexpected
  or mis-shaped weights) is a one-line :class:`CheckpointError` naming the file and
  the first mismatched keys, unless the config sets ``load_strict = False``
  (``--non-strict``); resuming with another model's optimizer state is one too;
* every checkpoint MMEngine itself loads (``init_cfg=Pretrained``, URLs) goes
  through the same loader (:func:`spairkit.checkpoint.route_mmengine_loading`);
* checkpoint rotation deletes old files only after the new one is complete
  (:class:`SpairkitCheckpointHook` replaces ``CheckpointHook``);
* the config's formatted text is computed once per content (:class:`RunnerConfig`),
  not on every log, dump and checkpoint.
"""
from __future__ import annotations

import os
import os.path as osp

from mmengine.config import Config
from mmengine.dist import master_only
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from spairkit.checkpoint import latest_checkpoint, load_checkpoint_file, route_mmengine_loading
from spairkit.engine.hooks import NanGuardHook, PlainCheckpointHook, SpairkitCheckpointHook
from spairkit.errors import CheckpointError
from spairkit.registry import RUNNERS


class RunnerConfig(Config):
    """The runner's :class:`~mmengine.config.Config`, formatting its text once per content.

    MMEngine formats the whole config with yapf (about 0.25 s on the 2-core development
    machine) each time it logs it, dumps it and saves a checkpoint (``meta['cfg']``),
    which made a short training run spend a quarter of its time there. The text is
    kept with the ``repr`` of the config's dict it was made from and made again when
    that changes, so a config edited after the runner was built is still written as it
    is.
    """

    @property
    def pretty_text(self) -> str:
        key = repr(self._cfg_dict.to_dict())
        cached = self.__dict__.get('_pretty_text_cache')
        if cached is None or cached[0] != key:
            cached = (key, super().pretty_text)
            # Config.__setattr__ writes into the config's dict: set the attribute itself.
            object.__setattr__(self, '_pretty_text_cache', cached)
        return cached[1]

    @classmethod
    def of(cls, cfg: Config) -> RunnerConfig:
        """A shallow copy of ``cfg`` as a RunnerConfig (Runner deep-copies it anyway)."""
        other = cls.__new__(cls)
        other.__dict__.update(cfg.__dict__)
        other.__dict__.pop('_pretty_text_cache', None)
        return other


@RUNNERS.register_module()
class SpairkitRunner(Runner):
    """Runner whose checkpoints are safe to load and never half-written."""

    def __init__(self, *args, **kwargs) -> None:
        cfg = kwargs.get('cfg') or {}
        if isinstance(cfg, Config) and not isinstance(cfg, RunnerConfig):
            kwargs['cfg'] = RunnerConfig.of(cfg)
        route_mmengine_loading(unsafe=bool(cfg.get('unsafe_load', False)))
        super().__init__(*args, **kwargs)

    @property
    def unsafe_load(self) -> bool:
        return bool(self.cfg.get('unsafe_load', False))

    @property
    def load_strict(self) -> bool:
        return bool(self.cfg.get('load_strict', True))

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        checkpoint = (default_hooks or {}).get('checkpoint')
        if isinstance(checkpoint, dict) and checkpoint.get('type') in (
                'CheckpointHook', 'mmengine.CheckpointHook'):
            default_hooks = {**default_hooks,
                             'checkpoint': {**checkpoint, 'type': SpairkitCheckpointHook}}
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

    def resume(self, filename: str, *args, **kwargs) -> None:
        try:
            super().resume(filename, *args, **kwargs)
        except (ValueError, KeyError, TypeError) as exc:
            # e.g. another model's optimizer: "loaded state dict contains a parameter
            # group that doesn't match the size of optimizer's group"
            detail = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
            raise CheckpointError(
                f'cannot resume from {filename}: its training state does not fit this '
                f"run ({type(exc).__name__}: {detail.strip().splitlines()[0]}); resume only "
                'from checkpoints of the same config') from exc

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool | None = None,
                        revise_keys: list = [(r'^module.', '')]):  # noqa: B006 - MMEngine's API
        checkpoint = load_checkpoint_file(filename, map_location=map_location,
                                          unsafe=self.unsafe_load)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        strict = self.load_strict if strict is None else strict
        if strict:
            check_fits(model, checkpoint, filename)
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        partial = f'.{filename}.partial'
        super().save_checkpoint(out_dir, partial, *args, **kwargs)
        os.replace(osp.join(out_dir, partial), osp.join(out_dir, filename))


def check_fits(model, checkpoint: dict, filename: str, limit: int = 3) -> None:
    """Raise a one-line :class:`CheckpointError` unless the weights fit ``model`` exactly."""
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict):
        raise CheckpointError(f'checkpoint {filename} holds no state_dict')
    state = {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f'{k} {list(state[k].shape)} vs {list(v.shape)}' for k, v in expected.items()
              if k in state and hasattr(state[k], 'shape') and state[k].shape != v.shape]
    if not (missing or unexpected or shapes):
        return
    parts = []
    for label, keys in (('shape (checkpoint vs model)', shapes), ('missing', missing),
                        ('unexpected', unexpected)):
        if keys:
            more = f' and {len(keys) - limit} more' if len(keys) > limit else ''
            parts.append(f"{label}: {', '.join(keys[:limit])}{more}")
    raise CheckpointError(
        f"checkpoint {filename} does not fit the model: {'; '.join(parts)} (use the config "
        'it was trained with, or --non-strict / load_strict=False to load the matching '
        'weights only)')
