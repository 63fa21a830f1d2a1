"""RealBlur-style ECC alignment recovers a known shift; degenerate input is an error."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import textured

from spairkit.errors import DataError
from spairkit.evaluation import aligned_psnr_ssim, ecc_align, psnr


def test_alignment_undoes_a_translation():
    big = textured(80, 80, seed=4)
    gt = big[8:72, 8:72]
    shifted = big[10:74, 9:73]  # content moved by (2, 1) pixels
    aligned = aligned_psnr_ssim(shifted, gt)
    assert psnr(shifted, gt) < 30.0
    assert aligned['PSNR'] > 40.0
    assert aligned['SSIM'] > 0.99
    _, _, valid = ecc_align(shifted, gt)
    # The valid region loses about the shifted border and no more.
    assert 0.9 < valid[..., 0].mean() < 1.0


def test_identical_images_align_to_themselves():
    gt = textured(48, 48, seed=6)
    out = aligned_psnr_ssim(gt, gt)
    assert out['PSNR'] > 60.0
    assert out['SSIM'] == pytest.approx(1.0, abs=1e-6)


def test_black_prediction_is_a_data_error():
    gt = textured(32, 32, seed=7)
    with pytest.raises(DataError, match='ECC alignment failed'):
        aligned_psnr_ssim(np.zeros_like(gt), gt)
