"""MATLAB-style bicubic imresize: exact properties and agreement with Pillow inside."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from spairkit.evaluation import imresize
from spairkit.evaluation.matlab_resize import resize_matrix


def test_same_size_is_identity_and_rows_sum_to_one():
    img = np.random.default_rng(0).random((9, 7, 3))
    np.testing.assert_allclose(imresize(img, (9, 7)), img, atol=1e-12)
    for n_in, n_out in ((10, 4), (4, 10), (640, 256)):
        np.testing.assert_allclose(resize_matrix(n_in, n_out).sum(axis=1), 1.0, atol=1e-12)


def test_halving_a_ramp_samples_the_pixel_centres():
    # Away from the borders a symmetric normalised kernel reproduces a linear ramp at
    # the sample position u = x / scale + 0.5 (1 - 1 / scale) = 2x - 0.5 (1-based).
    ramp = np.arange(1, 33, dtype=np.float64)[None, :].repeat(3, axis=0)
    out = imresize(ramp, (3, 16))
    x = np.arange(1, 17)
    np.testing.assert_allclose(out[1, 3:-3], (2 * x - 0.5)[3:-3], atol=1e-12)


def test_antialiasing_averages_out_a_checkerboard():
    board = (np.indices((32, 32)).sum(axis=0) % 2).astype(np.float64)
    out = imresize(board, (8, 8))
    np.testing.assert_allclose(out[2:-2, 2:-2], 0.5, atol=1e-3)


@pytest.mark.parametrize('size', [(13, 21), (50, 37)])
def test_interior_matches_pillow_bicubic(size):
    # Pillow's BICUBIC is the same a=-0.5 Keys kernel with the same antialiasing; it
    # only treats borders differently (truncation instead of mirroring).
    img = np.random.default_rng(1).random((26, 30)).astype(np.float32)
    ours = imresize(img, size)
    pil = np.asarray(Image.fromarray(img, mode='F').resize(size[::-1], Image.BICUBIC))
    b = 4
    np.testing.assert_allclose(ours[b:-b, b:-b], pil[b:-b, b:-b], atol=1e-4)
