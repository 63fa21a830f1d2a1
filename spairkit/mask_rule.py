"""The mask rule: which pixels of a degraded/clean pair count as degraded (paper Sec. 3.1).

Where a dataset has no ground-truth mask, SPAIR marks a pixel degraded when the
degraded image differs from the clean one by more than a task-specific threshold
("only severe distortions"). The rule has two parameters, written once per task
(:attr:`Task.mask_threshold <spairkit.tasks.Task.mask_threshold>` and ``mask_on``):

* ``threshold``: a fraction of the image range (0.06 = 15.3 grey levels on 8-bit), so
  one number works for uint8, uint16 and float images;
* ``on``: ``'max'`` compares the largest absolute channel difference, ``'y'`` the
  absolute difference of BT.601 luma (0.299 R + 0.587 G + 0.114 B; pure chroma
  shifts do not count).

:class:`MaskRule` is the only implementation. The synthesisers (through
:class:`~spairkit.degradations.Degradation`), ``DeriveMask``, SPAIR's fallback for
samples without a mask, ``RestorationMetric``'s degraded/clean split, ``MaskMetric``
and the demo report all call it, on NumPy ``HxWxC`` arrays or torch ``(..., C, H, W)``
tensors alike, so a mask means the same thing wherever it is made.

:func:`rule_for` picks the rule a consumer applies to one sample: the one its config
sets explicitly, else the rule of the sample's task (``metainfo['task']``), so the
regions a metric reports are the task's own.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Union

import numpy as np
import torch

from spairkit.errors import ConfigError, DataError

MASK_MODES = ('max', 'y')
#: BT.601 luma weights (the Y of YCbCr without the studio-range offset, which cancels
#: in a difference).
LUMA = (0.299, 0.587, 0.114)

Array = Union[np.ndarray, torch.Tensor]


@dataclass(frozen=True)
class MaskRule:
    """``|degraded - clean|`` measured ``on`` luma or the largest channel, ``> threshold``."""

    threshold: float
    on: str = 'max'

    def __post_init__(self) -> None:
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 <= float(t) < 1.0:
            raise ConfigError(f'mask rule threshold must be a number in [0, 1) (a fraction of '
                              f'the image range), got {t!r}')
        if self.on not in MASK_MODES:
            raise ConfigError(f'mask rule on must be one of {MASK_MODES}, got {self.on!r}')
        object.__setattr__(self, 'threshold', float(t))

    # -------------------------------------------------------------- the rule itself
    def difference(self, degraded: Array, clean: Array, channel_axis: int = -1) -> Array:
        """Per-pixel absolute difference in [0, 1] (the channel axis reduced away).

        NumPy arrays are ``HxWxC`` (or ``HxW``; ``channel_axis=-1``), tensors usually
        ``(C, H, W)`` or ``(N, C, H, W)`` with ``channel_axis=-3``. Integer images are
        divided by their dtype's maximum; float images are taken to be in [0, 1].
        """
        if tuple(degraded.shape) != tuple(clean.shape):
            raise DataError(f'degraded and clean images differ in shape: '
                            f'{tuple(degraded.shape)} vs {tuple(clean.shape)}')
        if isinstance(degraded, torch.Tensor):
            diff = _unit_tensor(degraded) - _unit_tensor(clean).to(_unit_tensor(degraded))
            if self.on == 'y':
                _check_rgb(diff.shape[channel_axis])
                shape = [1] * diff.ndim
                shape[channel_axis] = 3
                luma = torch.tensor(LUMA, dtype=diff.dtype, device=diff.device).view(shape)
                return (diff * luma).sum(dim=channel_axis).abs()
            return diff.abs().amax(dim=channel_axis)
        diff = _unit_array(degraded) - _unit_array(clean)
        if diff.ndim == 2:  # a grey image: there is only one channel to compare
            return np.abs(diff)
        if self.on == 'y':
            _check_rgb(diff.shape[channel_axis])
            return np.abs(np.tensordot(diff, np.asarray(LUMA, np.float32),
                                       axes=([channel_axis], [0])))
        return np.abs(diff).max(axis=channel_axis)

    def __call__(self, degraded: Array, clean: Array, channel_axis: int = -1) -> Array:
        """Boolean mask, True where :meth:`difference` exceeds the threshold."""
        return self.difference(degraded, clean, channel_axis) > self.threshold

    # ----------------------------------------------------------------- conversions
    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """The rule as a formula, for reports: ``|dY| > 0.06`` or ``max_c |d| > 0.1``."""
        lhs = '|Y(input) - Y(clean)|' if self.on == 'y' else 'max_c |input - clean|'
        return f'{lhs} > {self.threshold:g}'


def _check_rgb(channels: int) -> None:
    if channels != 3:
        raise DataError(f"the mask rule on='y' needs RGB images, got {channels} channels")


def _unit_array(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype.kind in 'ui':
        return image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
    return image.astype(np.float32)


def _unit_tensor(image: torch.Tensor) -> torch.Tensor:
    if image.is_floating_point():
        return image
    return image.float() / float(torch.iinfo(image.dtype).max)


def as_mask_rule(spec: MaskRule | Mapping[str, Any], what: str = 'mask_rule') -> MaskRule:
    """A :class:`MaskRule` from itself or ``dict(threshold=..., on=...)``."""
    if isinstance(spec, MaskRule):
        return spec
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - {'threshold', 'on'})
        if unknown or 'threshold' not in spec:
            raise ConfigError(f"{what} must be dict(threshold=<0..1>, on='max'|'y'), "
                              f'got {dict(spec)!r}')
        try:
            return MaskRule(**spec)
        except ConfigError as exc:
            raise ConfigError(f'{what}: {exc}') from None
    raise ConfigError(f"{what} must be dict(threshold=<0..1>, on='max'|'y'), got {spec!r}")


def task_mask_rule(task: str) -> MaskRule:
    """The mask rule the task ``task`` declares (its ``mask_threshold`` and ``mask_on``)."""
    from spairkit.tasks import get_task

    return as_mask_rule(get_task(task).mask_rule(), f"task '{task}' mask rule")


def rule_for(configured: MaskRule | Mapping[str, Any] | None, task: str | None,
             what: str) -> MaskRule:
    """The rule ``what`` applies to a sample of ``task``.

    ``configured`` is the consumer's explicit setting: one rule (a :class:`MaskRule` or
    ``dict(threshold, on)``), a ``{task: rule}`` dict, or ``None`` for the sample's
    task's own rule. A sample without a task and no configured rule is an error.
    """
    if configured is not None:
        if isinstance(configured, MaskRule) or (
                isinstance(configured, Mapping) and 'threshold' in configured):
            return as_mask_rule(configured, what)
        if not isinstance(configured, Mapping):
            raise ConfigError(f"{what} must be dict(threshold, on), {{task: dict(threshold, "
                              f"on)}} or None, got {configured!r}")
        if task not in configured:
            raise ConfigError(f'{what} has no entry for task {task!r}; it has '
                              f'{sorted(configured)}')
        return as_mask_rule(configured[task], f'{what}[{task!r}]')
    if task:
        return task_mask_rule(task)
    raise DataError(f"{what}: a sample without a mask names no task whose mask rule could "
                    "derive one; set " + what + "=dict(threshold=..., on='max'|'y')")


def check_mask_rule_spec(spec, what: str):
    """Validate a consumer's ``mask_rule`` setting early (at construction); returns it.

    ``None`` (the samples' task rules), one rule, or ``{task: rule}``.
    """
    if spec is None or isinstance(spec, MaskRule):
        return spec
    if isinstance(spec, Mapping) and 'threshold' in spec:
        return as_mask_rule(spec, what)
    if isinstance(spec, Mapping):
        return {task: as_mask_rule(rule, f'{what}[{task!r}]') for task, rule in spec.items()}
    raise ConfigError(f"{what} must be dict(threshold, on), {{task: dict(threshold, on)}} or "
                      f'None, got {spec!r}')


def degradation_mask(degraded: Array, clean: Array, threshold: float, on: str = 'max',
                     channel_axis: int = -1) -> Array:
    """Boolean mask of :class:`MaskRule` ``(threshold, on)`` (functional shorthand)."""
    return MaskRule(threshold, on)(degraded, clean, channel_axis)
