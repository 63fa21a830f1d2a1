"""psnr/ssim against scikit-image, hand-computed values and a from-scratch reference."""
from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import perturbed, textured
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from spairkit.evaluation import psnr, rgb_to_y, ssim, ssim_map


def reference_y(img: np.ndarray) -> np.ndarray:
    """MATLAB rgb2ycbcr luma written out term by term, 0..255 scale."""
    x = img.astype(np.float64) / 255.0
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]


def reference_ssim_valid(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """SSIM with an explicit 11x11 Gaussian window, looping over 'valid' positions."""
    g = np.exp(-0.5 * (np.arange(11) - 5.0) ** 2 / 1.5 ** 2)
    win = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    vals = []
    for i in range(a.shape[0] - 10):
        for j in range(a.shape[1] - 10):
            pa, pb = a[i:i + 11, j:j + 11], b[i:i + 11, j:j + 11]
            ma, mb = (win * pa).sum(), (win * pb).sum()
            va = (win * pa * pa).sum() - ma * ma
            vb = (win * pb * pb).sum() - mb * mb
            cab = (win * pa * pb).sum() - ma * mb
            vals.append((2 * ma * mb + c1) * (2 * cab + c2)
                        / ((ma * ma + mb * mb + c1) * (va + vb + c2)))
    return float(np.mean(vals))


def test_psnr_rgb_equals_skimage(pair):
    img, gt = pair
    expected = peak_signal_noise_ratio(gt, img, data_range=255)
    assert abs(psnr(img, gt) - expected) < 1e-6


def test_psnr_of_constant_images_is_hand_computed():
    a = np.full((8, 9, 3), 100, np.uint8)
    b = np.full((8, 9, 3), 110, np.uint8)  # MSE = 100
    assert psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 100), abs=1e-12)
    assert psnr(a, a) == math.inf


def test_psnr_y_channel_matches_written_out_formula(pair):
    img, gt = pair
    mse = np.mean((reference_y(img) - reference_y(gt)) ** 2)
    assert abs(psnr(img, gt, y_channel=True) - 10 * np.log10(255 ** 2 / mse)) < 1e-6
    # Pure white maps to 235 and pure black to 16 (studio range).
    assert rgb_to_y(np.full((1, 1, 3), 255, np.uint8), 255.0)[0, 0, 0] == pytest.approx(235.0)
    assert rgb_to_y(np.zeros((1, 1, 3), np.uint8), 255.0)[0, 0, 0] == pytest.approx(16.0)


def test_crop_border_ignores_the_border(pair):
    img, gt = pair
    bad = img.copy()
    bad[:3] = 0
    bad[:, -3:] = 255
    assert psnr(bad, gt, crop_border=3) == pytest.approx(psnr(img[3:-3, 3:-3], gt[3:-3, 3:-3]))
    assert psnr(bad, gt, crop_border=3) > psnr(bad, gt) + 1.0
    with pytest.raises(ValueError, match='crop_border'):
        psnr(img, gt, crop_border=20)


def test_ssim_single_channel_equals_skimage_and_loop_reference(pair):
    img, gt = pair
    a, b = img[..., 1], gt[..., 1]
    ours = ssim(a, b)
    sk = structural_similarity(a.astype(np.float64), b.astype(np.float64), data_range=255,
                               gaussian_weights=True, sigma=1.5,
                               use_sample_covariance=False)
    # skimage filters with reflected borders but averages only the map cropped by the
    # window radius, which is exactly the 'valid' region.
    assert abs(ours - sk) < 1e-9
    assert abs(ours - reference_ssim_valid(a.astype(float), b.astype(float))) < 1e-9


def test_ssim_rgb_is_the_mean_over_channels(pair):
    img, gt = pair
    per_channel = [ssim(img[..., c], gt[..., c]) for c in range(3)]
    assert ssim(img, gt) == pytest.approx(np.mean(per_channel), abs=1e-12)
    assert ssim(gt, gt) == pytest.approx(1.0)
    assert ssim(img, gt) < 0.99


def test_ssim_y_channel_uses_unrounded_y(pair):
    img, gt = pair
    expected = reference_ssim_valid(reference_y(img), reference_y(gt))
    assert abs(ssim(img, gt, y_channel=True) - expected) < 1e-9


def test_ssim_map_is_valid_region_sized():
    a = textured(20, 31, seed=3, channels=1)[..., 0].astype(np.float64)
    assert ssim_map(a, a, 255.0).shape == (10, 21)


def test_dtype_decides_the_peak(pair):
    img, gt = pair
    img16, gt16 = img.astype(np.uint16) * 257, gt.astype(np.uint16) * 257
    assert psnr(img16, gt16) == pytest.approx(psnr(img, gt), abs=1e-9)
    assert ssim(img16, gt16) == pytest.approx(ssim(img, gt), abs=1e-9)
    imgf, gtf = img / 255.0, gt / 255.0
    assert psnr(imgf, gtf, y_channel=True) == pytest.approx(psnr(img, gt, y_channel=True))
    assert ssim(imgf, gtf) == pytest.approx(ssim(img, gt), abs=1e-9)


def test_bad_inputs_are_rejected(pair):
    img, gt = pair
    with pytest.raises(ValueError, match='shapes differ'):
        psnr(img[:-1], gt)
    with pytest.raises(ValueError, match='dtypes differ'):
        psnr(img, gt.astype(np.uint16))
    with pytest.raises(ValueError, match='outside'):
        psnr(img * 1.0, gt * 1.0)
    with pytest.raises(TypeError, match='dtype'):
        psnr(img.astype(np.int32), gt.astype(np.int32))
    with pytest.raises(ValueError, match='at least'):
        ssim(img[:8, :8], gt[:8, :8])


def test_psnr_orders_noise_levels():
    gt = textured(24, 24, seed=5)
    assert psnr(perturbed(gt, 1, 2), gt) > psnr(perturbed(gt, 1, 20), gt)


def test_y_psnr_agrees_with_basicsr_float32_path_to_1e6_db():
    # BasicSR's to_y_channel works in float32 on BGR input; our float64 Y must give the
    # same PSNR to 1e-6 dB (the tolerance the literature's numbers need).
    gt = textured(64, 64, seed=8)
    img = perturbed(gt, seed=9, amplitude=8)

    def basicsr_y(im):
        x = im.astype(np.float32) / 255.0
        y = np.dot(x[..., ::-1], [24.966, 128.553, 65.481]) + 16.0
        return ((y / 255.0).astype(np.float32) * 255.0).astype(np.float64)

    mse = np.mean((basicsr_y(img) - basicsr_y(gt)) ** 2)
    assert abs(psnr(img, gt, y_channel=True) - 10 * np.log10(255 ** 2 / mse)) < 1e-6
