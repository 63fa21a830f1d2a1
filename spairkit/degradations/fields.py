"""Random building blocks shared by synthesisers: smooth fields, line kernels, blobs.

They are public so that third-party synthesisers (haze, snow, ...) can build on the
same deterministic, vectorised pieces as the built-in ones. Every function draws
only from the ``rng`` it is given.
"""
from __future__ import annotations

import math

import cv2
import numpy as np


def smooth_field(shape: tuple[int, int], rng: np.random.Generator,
                 cells: int = 4) -> np.ndarray:
    """An ``HxW`` float32 field in [0, 1] that varies smoothly over the image.

    A ``(cells+1)x(cells+1)`` grid of uniform noise upsampled bicubically: ``cells``
    sets how many bumps cross the image (low = one gentle gradient). Used for
    depth-like maps and soft region partitions.
    """
    h, w = shape
    cells = max(1, int(cells))
    grid = rng.random((cells + 1, cells + 1), dtype=np.float32)
    field = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(field.min()), float(field.max())
    if hi - lo < 1e-6:
        return np.full((h, w), 0.5, dtype=np.float32)
    return ((field - lo) / (hi - lo)).astype(np.float32)


def line_kernel(length: float, angle_deg: float) -> np.ndarray:
    """A normalised linear motion kernel (sums to 1), anti-aliased.

    ``angle_deg`` is measured from the image's x axis, counter-clockwise; the kernel
    is square with odd side ``>= length``. ``length <= 1`` gives the identity.
    """
    if length <= 1.0:
        return np.ones((1, 1), dtype=np.float32)
    size = int(math.ceil(length)) | 1
    kernel = np.zeros((size, size), dtype=np.float32)
    c = (size - 1) / 2.0
    dx = math.cos(math.radians(angle_deg)) * (length - 1) / 2.0
    dy = -math.sin(math.radians(angle_deg)) * (length - 1) / 2.0
    shift = 4  # sub-pixel precision of cv2.line: coordinates in 1/16 pixel
    p0 = (int(round((c - dx) * 16)), int(round((c - dy) * 16)))
    p1 = (int(round((c + dx) * 16)), int(round((c + dy) * 16)))
    cv2.line(kernel, p0, p1, 1.0, thickness=1, lineType=cv2.LINE_AA, shift=shift)
    total = float(kernel.sum())
    if total <= 0:  # pragma: no cover - a line of length > 1 always draws pixels
        return np.ones((1, 1), dtype=np.float32)
    return kernel / total


def filter_reflect(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``cv2.filter2D`` with reflected borders that also works on 1-pixel images."""
    if kernel.shape == (1, 1):
        return image * kernel[0, 0]
    h, w = image.shape[:2]
    border = cv2.BORDER_REFLECT_101 if min(h, w) > 1 else cv2.BORDER_REPLICATE
    return cv2.filter2D(image, -1, kernel, borderType=border)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with a sigma in pixels (no-op for sigma <= 0), any image size."""
    if sigma <= 0:
        return image
    h, w = image.shape[:2]
    border = cv2.BORDER_REFLECT_101 if min(h, w) > 1 else cv2.BORDER_REPLICATE
    ksize = 2 * int(math.ceil(3 * sigma)) + 1
    return cv2.GaussianBlur(image, (ksize, ksize), sigmaX=sigma, sigmaY=sigma,
                            borderType=border)


def random_polygon(rng: np.random.Generator, center: tuple[float, float], radius: float,
                   vertices: int, irregularity: float = 0.5) -> np.ndarray:
    """Vertices (``Nx2`` int32, x-y) of a random star-shaped polygon around ``center``.

    Angles are sorted so the polygon never self-intersects; radii vary by
    ``irregularity`` (0 = regular polygon).
    """
    vertices = max(3, int(vertices))
    angles = np.sort(rng.uniform(0.0, 2 * np.pi, size=vertices))
    radii = radius * (1.0 + irregularity * rng.uniform(-1.0, 1.0, size=vertices))
    xs = center[0] + np.cos(angles) * radii
    ys = center[1] + np.sin(angles) * radii
    return np.stack([xs, ys], axis=1).round().astype(np.int32)
