"""Shared fixtures: small structured images made in the test (no files, no downloads)."""
from __future__ import annotations

import numpy as np
import pytest


def structured_image(h: int, w: int, seed: int = 0, dtype=np.uint8) -> np.ndarray:
    """An ``HxWx3`` RGB image with flat areas, smooth gradients, edges and some texture.

    Flat areas matter: blur leaves them unchanged, so a mask that is "everything"
    would be wrong there.
    """
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.2 + 0.5 * xs / max(w, 1), 0.3 + 0.4 * ys / max(h, 1),
                    np.full((h, w), 0.5, np.float32)], axis=2)
    img[h // 4: h // 2, w // 4: w // 2] = (0.9, 0.2, 0.1)
    img[h // 2:, w // 2:] = (0.1, 0.15, 0.6)
    img[: h // 3, w // 2:] += 0.15 * rng.random((h // 3, w - w // 2, 3), dtype=np.float32)
    scale = np.iinfo(dtype).max
    return np.clip(np.rint(img * scale), 0, scale).astype(dtype)


@pytest.fixture
def clean_image() -> np.ndarray:
    return structured_image(64, 80)
