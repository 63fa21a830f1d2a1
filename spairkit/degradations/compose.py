"""Task-agnostic compositions of synthesisers, and building one from a config.

``RandomChoiceDegradation`` applies one of several synthesisers per call (e.g. light
or heavy rain); ``SequentialDegradation`` applies several in order (e.g. rain streaks
then raindrops for a joint model). Both work with any registered synthesiser,
built-in or third-party.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from spairkit.errors import ConfigError, UnknownComponentError, unknown_component_message
from spairkit.registry import DEGRADATIONS

from .base import Degradation, check_clean, check_rng, mask_from_difference


def build_degradation(cfg: Degradation | Mapping) -> Degradation:
    """A :class:`Degradation` from an instance or a ``dict(type=..., **kwargs)`` config.

    An unknown type names the DEGRADATIONS registry and the closest registered names.
    """
    if isinstance(cfg, Degradation):
        return cfg
    if not isinstance(cfg, Mapping) or 'type' not in cfg:
        raise ConfigError(f"a degradation must be a dict with a 'type' key, got {cfg!r}")
    type_ = cfg['type']
    if isinstance(type_, str) and DEGRADATIONS.get(type_) is None:
        raise UnknownComponentError(unknown_component_message(
            'DEGRADATIONS', type_, DEGRADATIONS.module_dict))
    built = DEGRADATIONS.build(dict(cfg))
    if not isinstance(built, Degradation):
        raise ConfigError(
            f'degradation type {type_!r} built a {type(built).__name__}, '
            'not a spairkit.degradations.Degradation')
    return built


def _build_all(key: str, cfgs: Sequence) -> list[Degradation]:
    if isinstance(cfgs, (str, Mapping)) or not isinstance(cfgs, Sequence) or not cfgs:
        raise ConfigError(f'{key} must be a non-empty list of degradation configs')
    return [build_degradation(c) for c in cfgs]


@DEGRADATIONS.register_module()
class RandomChoiceDegradation(Degradation):
    """Apply one of ``degradations``, chosen per call with probabilities ``probs``.

    The mask is the chosen synthesiser's mask.
    """

    def __init__(self, degradations: Sequence, probs: Sequence[float] | None = None):
        self.degradations = _build_all('degradations', degradations)
        if probs is None:
            probs = [1.0] * len(self.degradations)
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape != (len(self.degradations),) or (probs < 0).any() or probs.sum() <= 0:
            raise ConfigError(
                f'probs must hold one non-negative weight per degradation '
                f'({len(self.degradations)}), not all zero; got {list(probs)}')
        self.probs = probs / probs.sum()
        super().__init__(min(d.mask_threshold for d in self.degradations),
                         self.degradations[0].mask_on)

    def __call__(self, clean, rng):
        check_rng(rng)
        index = int(rng.choice(len(self.degradations), p=self.probs))
        return self.degradations[index](clean, rng)


@DEGRADATIONS.register_module()
class SequentialDegradation(Degradation):
    """Apply ``degradations`` one after the other.

    The mask is the union of every step's mask and of the difference between the final
    image and the clean one beyond the smallest step threshold (small changes of
    several steps can add up to a large one).
    """

    def __init__(self, degradations: Sequence):
        self.degradations = _build_all('degradations', degradations)
        first = min(self.degradations, key=lambda d: d.mask_threshold)
        super().__init__(first.mask_threshold, first.mask_on)

    def __call__(self, clean, rng):
        check_clean(clean)
        check_rng(rng)
        image = clean
        mask = np.zeros(clean.shape[:2], dtype=np.uint8)
        for degradation in self.degradations:
            image, step_mask = degradation(image, rng)
            mask |= step_mask
        mask |= mask_from_difference(image, clean, self.mask_threshold, self.mask_on)
        return image, mask

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.degradations!r})'
