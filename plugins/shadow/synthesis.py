"""Shadow synthesis: soft-edged random polygons darkening the image with a colour shift.

A cast shadow removes the direct (warm) light from a region, leaving the ambient
(bluish sky) light: the region is darkened multiplicatively, red more than blue, and
its edge is a penumbra whose width depends on the distance to the occluder. This
synthesiser draws one to a few random star-shaped polygons (one occluder can cast
several patches), softens the union by a Gaussian penumbra, and multiplies the image
by ``1 - shadow * attenuation_c`` per channel.
"""
from __future__ import annotations

import cv2
import numpy as np

from spairkit.degradations import Degradation, gaussian_blur, random_polygon
from spairkit.degradations.base import check_range, uniform
from spairkit.registry import DEGRADATIONS


@DEGRADATIONS.register_module()
class ShadowSynthesizer(Degradation):
    """Cast soft shadows on a clean image.

    Args:
        num_polygons: range (integers) of shadow polygons per image.
        radius: range of the polygon radius, as a fraction of the shorter side
            (polygons may extend past the border).
        vertices: range (integers) of polygon vertices.
        irregularity: how much vertex radii vary (0 = regular polygon).
        penumbra: range of the edge softness (Gaussian sigma) as a fraction of the
            shorter side.
        strength: range of the fraction of light the shadow removes (on green).
        color_shift: range of the extra attenuation of red (and relief of blue)
            relative to green, giving shadows their bluish cast.
        mask_threshold, mask_on: see :class:`~spairkit.degradations.Degradation`.
            The mask is the umbra and inner penumbra (shadow > 0.5) united with every
            pixel changed by more than 5% of the range.
    """

    default_mask_threshold = 0.05
    default_mask_on = 'max'

    def __init__(self, num_polygons=(1, 3), radius=(0.15, 0.45), vertices=(3, 9),
                 irregularity=0.4, penumbra=(0.005, 0.03), strength=(0.35, 0.75),
                 color_shift=(0.0, 0.15), mask_threshold=None, mask_on=None):
        super().__init__(mask_threshold, mask_on)
        self.num_polygons = check_range('num_polygons', num_polygons, 1, 100, integer=True)
        self.radius = check_range('radius', radius, 0.0, 2.0)
        self.vertices = check_range('vertices', vertices, 3, 64, integer=True)
        self.irregularity = check_range('irregularity', (irregularity, irregularity),
                                        0.0, 0.9)[0]
        self.penumbra = check_range('penumbra', penumbra, 0.0, 0.5)
        self.strength = check_range('strength', strength, 0.0, 0.95)
        self.color_shift = check_range('color_shift', color_shift, 0.0, 0.5)

    def shadow_map(self, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
        """``HxW`` float32 in [0, 1]: 1 in the umbra, falling off over the penumbra."""
        h, w = shape
        scale = min(h, w)
        hard = np.zeros((h, w), dtype=np.float32)
        polygons = [
            random_polygon(
                rng, (rng.uniform(0, w), rng.uniform(0, h)),
                max(1.0, uniform(rng, self.radius) * scale),
                int(rng.integers(self.vertices[0], self.vertices[1] + 1)),
                self.irregularity)
            for _ in range(int(rng.integers(self.num_polygons[0], self.num_polygons[1] + 1)))]
        cv2.fillPoly(hard, polygons, 1.0, lineType=cv2.LINE_AA)
        return np.clip(gaussian_blur(hard, uniform(rng, self.penumbra) * scale), 0.0, 1.0)

    def apply(self, image, rng):
        shadow = self.shadow_map(image.shape[:2], rng)
        strength = uniform(rng, self.strength)
        shift = uniform(rng, self.color_shift)
        attenuation = np.clip(
            strength * np.array([1 + shift, 1.0, 1 - shift], dtype=np.float32), 0.0, 0.95)
        out = image * (1.0 - shadow[..., None] * attenuation)
        return out.astype(np.float32), shadow > 0.5
