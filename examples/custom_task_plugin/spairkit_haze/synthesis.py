"""Spatially varying haze by the atmospheric scattering model.

``I = J * t + A * (1 - t)`` with transmission ``t = exp(-beta * d)``: ``J`` is the
clean image, ``A`` the airlight and ``d`` a depth-like map. Real haze over a scene is
not uniform (fog banks, distance), so ``d`` is a smooth random field plus a vertical
ramp (the top of a photograph is usually farther away), which leaves some regions
nearly clear and others washed out - the spatially varying case SPAIR is built for.

Uses only spairkit's public API: the :class:`~spairkit.degradations.Degradation`
contract, its ``smooth_field`` helper and the ``DEGRADATIONS`` registry.
"""
from __future__ import annotations

import numpy as np

from spairkit.degradations import Degradation, smooth_field
from spairkit.errors import ConfigError
from spairkit.registry import DEGRADATIONS


def _pair(key, value, low, high):
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f'HazeSynthesizer.{key} must be a (min, max) pair, got {value!r}') \
            from None
    if not low <= a <= b <= high:
        raise ConfigError(f'HazeSynthesizer.{key} must satisfy {low} <= min <= max <= {high}, '
                          f'got {value!r}')
    return a, b


@DEGRADATIONS.register_module()
class HazeSynthesizer(Degradation):
    """Add spatially varying haze.

    Args:
        beta: range of the scattering coefficient (higher = denser haze).
        airlight: range of the airlight brightness (0..1), slightly blue-shifted.
        ramp: range of the weight of the vertical depth ramp against the random field.
        dense_transmission: pixels whose transmission is below this are marked
            degraded even where the scene colour happens to match the airlight.
        mask_threshold, mask_on: see spairkit's ``Degradation``; by default a pixel
            whose luma changed by more than 8% is degraded.
    """

    default_mask_threshold = 0.08
    default_mask_on = 'y'

    def __init__(self, beta=(0.8, 2.5), airlight=(0.75, 0.95), ramp=(0.0, 0.6),
                 dense_transmission=0.5, mask_threshold=None, mask_on=None):
        super().__init__(mask_threshold, mask_on)
        self.beta = _pair('beta', beta, 0.0, 10.0)
        self.airlight = _pair('airlight', airlight, 0.0, 1.0)
        self.ramp = _pair('ramp', ramp, 0.0, 1.0)
        if not 0.0 < float(dense_transmission) <= 1.0:
            raise ConfigError('HazeSynthesizer.dense_transmission must be in (0, 1], '
                              f'got {dense_transmission!r}')
        self.dense_transmission = float(dense_transmission)

    def transmission(self, shape, rng):
        """``HxW`` transmission map in (0, 1]."""
        h, w = shape
        field = smooth_field((h, w), rng, cells=int(rng.integers(1, 4)))
        ramp_weight = rng.uniform(*self.ramp)
        ramp = np.linspace(1.0, 0.0, h, dtype=np.float32)[:, None]
        depth = (1 - ramp_weight) * field + ramp_weight * ramp
        # Shift so the nearest part of the scene is clear.
        depth = np.clip(depth - rng.uniform(0.1, 0.4), 0.0, None)
        return np.exp(-rng.uniform(*self.beta) * depth).astype(np.float32)

    def apply(self, image, rng):
        t = self.transmission(image.shape[:2], rng)[..., None]
        a = rng.uniform(*self.airlight)
        airlight = np.array([a * 0.97, a * 0.99, a], dtype=np.float32)
        hazy = image * t + airlight * (1.0 - t)
        return hazy.astype(np.float32), t[..., 0] < self.dense_transmission
