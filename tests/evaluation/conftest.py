"""Small synthetic image pairs shared by the evaluation tests."""
from __future__ import annotations

import cv2
import numpy as np
import pytest


def textured(h: int, w: int, seed: int, channels: int = 3) -> np.ndarray:
    """A smooth random uint8 texture (blurred noise), so SSIM has structure to compare."""
    rng = np.random.default_rng(seed)
    noise = rng.random((h, w, channels)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0).reshape(h, w, channels)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return np.rint(smooth * 255).astype(np.uint8)


def perturbed(img: np.ndarray, seed: int, amplitude: int = 12) -> np.ndarray:
    """``img`` plus clipped integer noise of the given amplitude."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-amplitude, amplitude + 1, img.shape)
    return np.clip(img.astype(np.int64) + noise, 0, 255).astype(np.uint8)


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    gt = textured(37, 45, seed=1)
    return perturbed(gt, seed=2), gt
