"""Rain-streak synthesis: sparse seeds smeared by a linear motion kernel, screen-blended.

Real rain streaks are drops moving fast during the exposure: each drop draws a thin,
bright, slightly blurred line, all lines of one layer share a direction, and nearer
layers have longer, sparser streaks. That is what this builds, fully vectorised:
per layer, a sparse random seed map is convolved with an anti-aliased line kernel
(length and angle of that layer), widened by a small Gaussian, scaled by a
brightness and blended onto the image (screen blend by default, as rain adds light
without saturating what is already bright).

Sizes are fractions of the image's shorter side, so a 256x256 crop and a full
photograph get streaks of the same look.
"""
from __future__ import annotations

import numpy as np

from spairkit.degradations import Degradation, filter_reflect, gaussian_blur, line_kernel
from spairkit.degradations.base import check_range, uniform
from spairkit.errors import ConfigError
from spairkit.registry import DEGRADATIONS

BLENDS = ('screen', 'additive')


@DEGRADATIONS.register_module()
class RainStreakSynthesizer(Degradation):
    """Add rain streaks to a clean image.

    Args:
        angle: range of the streak direction in degrees from vertical (positive leans
            right at the bottom), drawn once per image.
        angle_jitter: how many degrees each layer may deviate from that direction.
        length: range of the streak length, as a fraction of the shorter side.
        density: range of the fraction of pixels that start a streak (per layer).
        brightness: range of the streak intensity (0..1) at its centre.
        width: range of the Gaussian sigma (pixels) that widens the streaks.
        layers: range (integers) of how many depth layers of rain to draw.
        blend: ``'screen'`` (1 - (1-I)(1-S)) or ``'additive'`` (I + S, clipped).
        mask_threshold, mask_on: see :class:`~spairkit.degradations.Degradation`;
            the default marks a pixel whose luma changed by more than 6% (about 15
            levels of 255), which leaves the faint streak tails unmarked, as the paper
            asks of masks ("only severe distortions").
    """

    default_mask_threshold = 0.06
    default_mask_on = 'y'

    def __init__(self, angle=(-30.0, 30.0), angle_jitter=5.0, length=(0.05, 0.2),
                 density=(0.001, 0.008), brightness=(0.5, 0.9), width=(0.3, 0.9),
                 layers=(1, 3), blend='screen', mask_threshold=None, mask_on=None):
        super().__init__(mask_threshold, mask_on)
        self.angle = check_range('angle', angle, -90.0, 90.0)
        if not isinstance(angle_jitter, (int, float)) or not 0 <= angle_jitter <= 45:
            raise ConfigError(f'angle_jitter must be in [0, 45] degrees, got {angle_jitter!r}')
        self.angle_jitter = float(angle_jitter)
        self.length = check_range('length', length, 0.0, 1.0)
        self.density = check_range('density', density, 0.0, 1.0)
        self.brightness = check_range('brightness', brightness, 0.0, 1.0)
        self.width = check_range('width', width, 0.0, 10.0)
        self.layers = check_range('layers', layers, 1, 10, integer=True)
        if blend not in BLENDS:
            raise ConfigError(f'blend must be one of {BLENDS}, got {blend!r}')
        self.blend = blend

    def streak_layer(self, shape: tuple[int, int], rng: np.random.Generator,
                     angle_from_vertical: float) -> np.ndarray:
        """One ``HxW`` float32 layer of streaks in [0, brightness]."""
        h, w = shape
        density = uniform(rng, self.density)
        length = max(1.0, uniform(rng, self.length) * min(h, w))
        sigma = uniform(rng, self.width)
        brightness = uniform(rng, self.brightness)
        seeds = rng.random((h, w), dtype=np.float32)
        strength = rng.uniform(0.6, 1.0, size=(h, w)).astype(np.float32)
        seeds = np.where(seeds < density, strength, np.float32(0.0))
        kernel = line_kernel(length, 90.0 + angle_from_vertical)
        kernel = kernel / kernel.max()  # a streak keeps its seed's intensity along its length
        layer = gaussian_blur(filter_reflect(seeds, kernel), sigma)
        return np.clip(layer, 0.0, 1.0) * np.float32(brightness)

    def apply(self, image, rng):
        h, w = image.shape[:2]
        base_angle = uniform(rng, self.angle)
        rain = np.zeros((h, w), dtype=np.float32)
        for _ in range(int(rng.integers(self.layers[0], self.layers[1] + 1))):
            jitter = rng.uniform(-self.angle_jitter, self.angle_jitter)
            layer = self.streak_layer((h, w), rng, base_angle + jitter)
            rain = 1.0 - (1.0 - rain) * (1.0 - layer)  # layers add light like screens
        rain = rain[..., None]
        if self.blend == 'screen':
            out = 1.0 - (1.0 - image) * (1.0 - rain)
        else:
            out = image + rain
        return out.astype(np.float32), None
