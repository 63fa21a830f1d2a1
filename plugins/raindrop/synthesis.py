"""Raindrop synthesis: drops on a glass in front of the lens, refracting a flipped scene.

A raindrop on a window acts as a small ball lens: through it the camera sees a
zoomed-out, inverted view of the scene around the drop, out of focus because the
camera focuses on the scene, not on the glass (Qian et al., AGAN; Quan et al.). This
synthesiser draws drops as wobbly ellipses that merge where they overlap (a
per-pixel "nearest drop" in normalised elliptical distance), builds one remap that
sends every drop pixel to the inverted, zoomed source point of its drop, blurs the
refracted image (defocus), and composites it through a soft-edged alpha. Everything
per pixel is numpy/OpenCV; the only Python loop is over drops (tens per image), each
on its own bounding box.

Sizes are fractions of the image's shorter side.
"""
from __future__ import annotations

import cv2
import numpy as np

from spairkit.degradations import Degradation, gaussian_blur
from spairkit.degradations.base import check_range, difference_map, uniform
from spairkit.registry import DEGRADATIONS


@DEGRADATIONS.register_module()
class RaindropSynthesizer(Degradation):
    """Put raindrops on the (virtual) glass in front of a clean image.

    Args:
        num_drops: range (integers) of drops per square of the shorter side.
        radius: range of the drop radius, as a fraction of the shorter side.
        aspect: range of the ellipse's minor/major axis ratio.
        wobble: how much the outline deviates from an ellipse (0 = smooth ellipse).
        zoom: range of the refraction's zoom-out factor (how much wider the view
            through a drop is than the drop).
        defocus: range of the Gaussian sigma (pixels) blurring the view through the
            drops (the glass is out of focus).
        edge_softness: range of the sigma (pixels) softening each drop's outline.
        brightness: range of the gain applied inside the drops (a drop's view is a
            little darker or brighter than the scene).
        mask_threshold, mask_on: see :class:`~spairkit.degradations.Degradation`.
            The mask is the footprint (alpha > 0.5) of every *visible* drop united
            with every pixel changed by more than 8% of the range. A drop is visible
            when its mean change (largest channel) over its footprint reaches half
            the threshold: a drop over a flat area refracts the same colour back and
            changes nothing a restorer could undo, so marking it degraded would ask
            Net_L to find what is not in the image (measured: with every footprint in
            the mask, the demo's Net_L reached held-out IoU 0.29 at chance-level
            balanced error 0.41).
    """

    default_mask_threshold = 0.08
    default_mask_on = 'max'

    def __init__(self, num_drops=(20, 60), radius=(0.02, 0.08), aspect=(0.6, 1.0),
                 wobble=0.15, zoom=(1.5, 3.0), defocus=(0.8, 2.5), edge_softness=(0.6, 1.5),
                 brightness=(0.85, 1.15), mask_threshold=None, mask_on=None):
        super().__init__(mask_threshold, mask_on)
        self.num_drops = check_range('num_drops', num_drops, 0, 10_000, integer=True)
        self.radius = check_range('radius', radius, 0.0, 1.0)
        self.aspect = check_range('aspect', aspect, 0.05, 1.0)
        self.wobble = check_range('wobble', (wobble, wobble), 0.0, 0.5)[0]
        self.zoom = check_range('zoom', zoom, 1.0, 10.0)
        self.defocus = check_range('defocus', defocus, 0.0, 20.0)
        self.edge_softness = check_range('edge_softness', edge_softness, 0.0, 20.0)
        self.brightness = check_range('brightness', brightness, 0.0, 2.0)

    def drop_maps(self, shape: tuple[int, int], rng: np.random.Generator):
        """Per-pixel source coordinates through the drops and the drop label map.

        ``labels`` is ``-1`` outside every drop and the index of the drop a pixel
        belongs to inside (the nearest in normalised elliptical distance).
        """
        h, w = shape
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        map_x, map_y = xs.copy(), ys.copy()
        # Normalised elliptical distance to the nearest drop (< 1 inside a drop).
        nearest = np.full((h, w), np.inf, dtype=np.float32)
        labels = np.full((h, w), -1, dtype=np.int64)
        scale = min(h, w)
        # Counts are per square of the shorter side, like the radius, so a crop and
        # the full photograph have the same fraction of drops.
        count = int(round(rng.integers(self.num_drops[0], self.num_drops[1] + 1)
                          * (h * w) / (scale * scale)))
        count = max(count, 1 if self.num_drops[1] > 0 else 0)
        for index in range(count):
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            major = max(1.0, uniform(rng, self.radius) * scale)
            minor = max(1.0, major * uniform(rng, self.aspect))
            theta = rng.uniform(0, np.pi)
            zoom = uniform(rng, self.zoom)
            lobes, phase = int(rng.integers(2, 5)), rng.uniform(0, 2 * np.pi)
            x0, x1 = int(max(0, np.floor(cx - major))), int(min(w, np.ceil(cx + major) + 1))
            y0, y1 = int(max(0, np.floor(cy - major))), int(min(h, np.ceil(cy + major) + 1))
            if x0 >= x1 or y0 >= y1:
                continue
            dx, dy = xs[y0:y1, x0:x1] - cx, ys[y0:y1, x0:x1] - cy
            u = dx * np.cos(theta) + dy * np.sin(theta)
            v = -dx * np.sin(theta) + dy * np.cos(theta)
            dist = np.sqrt((u / major) ** 2 + (v / minor) ** 2)
            dist *= 1.0 + self.wobble * np.sin(lobes * np.arctan2(v, u) + phase)
            take = (dist < 1.0) & (dist < nearest[y0:y1, x0:x1])
            nearest[y0:y1, x0:x1][take] = dist[take]
            labels[y0:y1, x0:x1][take] = index
            # Ball lens: the view is inverted through the centre and zoomed out, more
            # so towards the rim (barrel distortion).
            gain = zoom * (1.0 + 0.5 * dist[take] ** 2)
            map_x[y0:y1, x0:x1][take] = cx - dx[take] * gain
            map_y[y0:y1, x0:x1][take] = cy - dy[take] * gain
        return map_x, map_y, labels

    def apply(self, image, rng):
        h, w = image.shape[:2]
        map_x, map_y, labels = self.drop_maps((h, w), rng)
        footprint = (labels >= 0).astype(np.float32)
        border = cv2.BORDER_REFLECT_101 if min(h, w) > 1 else cv2.BORDER_REPLICATE
        refracted = cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR,
                              borderMode=border)
        refracted = gaussian_blur(refracted, uniform(rng, self.defocus))
        refracted = refracted * np.float32(uniform(rng, self.brightness))
        alpha = gaussian_blur(footprint, uniform(rng, self.edge_softness))
        alpha = np.clip(alpha, 0.0, 1.0)[..., None]
        out = alpha * refracted + (1.0 - alpha) * image
        inside = alpha[..., 0] > 0.5
        return out.astype(np.float32), inside & self.visible(labels, out, image)

    def visible(self, labels: np.ndarray, out: np.ndarray, image: np.ndarray) -> np.ndarray:
        """``HxW`` bool: the pixels of drops whose mean change reaches half the threshold."""
        inside = labels >= 0
        if not inside.any():
            return inside
        change = difference_map(out, image, self.mask_on)
        count = np.bincount(labels[inside], minlength=int(labels.max()) + 1)
        total = np.bincount(labels[inside], weights=change[inside],
                            minlength=int(labels.max()) + 1)
        seen = total >= 0.5 * self.mask_threshold * np.maximum(count, 1)
        return inside & seen[np.maximum(labels, 0)]
