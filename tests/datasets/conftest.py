"""Helpers for the dataset tests: tiny images written to a temporary folder."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest


def rgb(h: int = 8, w: int = 8, seed: int = 0, dtype=np.uint8) -> np.ndarray:
    """A random ``HxWx3`` RGB image (different per seed, so pairs can be told apart)."""
    high = int(np.iinfo(dtype).max) + 1
    return np.random.default_rng(seed).integers(0, high, (h, w, 3)).astype(dtype)


def write_rgb(path, img: np.ndarray) -> str:
    """Write an RGB array with OpenCV (which expects BGR); create parent folders."""
    path = str(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(path, data), path
    return path


def make_pairs(root, input_dir: str, target_dir: str, names_in, names_gt, h=8, w=8) -> None:
    """Write input/target images; the pair ``i`` share content seeds ``i``/``100+i``."""
    for i, name in enumerate(names_in):
        write_rgb(os.path.join(str(root), input_dir, name), rgb(h, w, seed=i))
    for i, name in enumerate(names_gt):
        write_rgb(os.path.join(str(root), target_dir, name), rgb(h, w, seed=100 + i))


LOAD_AND_PACK = [dict(type='LoadPairFromFile'), dict(type='PackRestorationInputs')]


@pytest.fixture
def load_and_pack():
    return [dict(t) for t in LOAD_AND_PACK]
