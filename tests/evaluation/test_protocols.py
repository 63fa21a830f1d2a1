"""Named protocols: lookup errors, each recipe against an independent computation."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from conftest import perturbed, textured
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from spairkit.errors import ConfigError
from spairkit.evaluation import (
    Protocol,
    aggregate_scores,
    aligned_psnr_ssim,
    get_protocol,
    lab_error,
    protocol_names,
    psnr,
    register_protocol,
    ssim,
)
from spairkit.registry import PROTOCOLS


def test_builtin_protocols_are_named():
    assert set(protocol_names()) >= {'rain13k_y', 'agan_y_crop4', 'istd_lab', 'gopro_rgb',
                                     'realblur_aligned'}
    assert get_protocol('rain13k_y') is get_protocol('rain13k_y')  # one frozen object
    assert PROTOCOLS.build(dict(type='gopro_rgb')) is get_protocol('gopro_rgb')
    assert PROTOCOLS.sources()['istd_lab'] == 'spairkit.evaluation.protocols.istd_lab'
    with pytest.raises(ConfigError, match="'rain13k_y' is already registered"):
        register_protocol(Protocol('rain13k_y'))  # a name cannot be taken twice


def test_a_plugin_registers_its_own_protocol():
    mine = Protocol('test_only_rgb_crop2', crop_border=2, description='test')
    try:
        assert register_protocol(mine) is mine
        assert get_protocol('test_only_rgb_crop2') is mine
        assert 'test_only_rgb_crop2' in protocol_names()
        assert PROTOCOLS.sources()['test_only_rgb_crop2'].startswith(__name__)
    finally:
        PROTOCOLS.module_dict.pop('test_only_rgb_crop2', None)


def test_unknown_protocol_lists_the_known_ones():
    with pytest.raises(ConfigError, match="rain13kk.*did you mean 'rain13k_y'.*agan_y_crop4"):
        get_protocol('rain13kk')


def test_protocol_from_a_dict_and_bad_fields():
    p = get_protocol(dict(name='mine', colour='y_matlab', crop_border=4))
    assert p.crop_border == 4 and p.colour == 'y_matlab'
    with pytest.raises(ConfigError, match="unknown keys \\['crop'\\]"):
        get_protocol(dict(name='mine', crop=4))
    with pytest.raises(ConfigError, match="colour='lab'"):
        Protocol('x', colour='lab')
    with pytest.raises(ConfigError, match='needs a name'):
        get_protocol(dict(colour='rgb'))


def test_rain13k_and_gopro_equal_the_public_functions():
    gt = textured(30, 34, seed=1)
    img = perturbed(gt, seed=2)
    rain = get_protocol('rain13k_y').evaluate(img, gt)
    assert rain == {'PSNR': psnr(img, gt, y_channel=True), 'SSIM': ssim(img, gt, y_channel=True)}
    gopro = get_protocol('gopro_rgb').evaluate(img, gt)
    assert gopro == {'PSNR': psnr(img, gt), 'SSIM': ssim(img, gt)}


def test_agan_matches_the_agan_script():
    # The AGAN evaluation: align_to_four, cv2 YCrCb Y (uint8), compare_psnr and
    # compare_ssim with scikit-image defaults (7x7 uniform window).
    gt = textured(31, 42, seed=3)
    img = perturbed(gt, seed=4)
    a = cv2.cvtColor(img[:28, :40], cv2.COLOR_RGB2YCrCb)[..., 0]
    b = cv2.cvtColor(gt[:28, :40], cv2.COLOR_RGB2YCrCb)[..., 0]
    out = get_protocol('agan_y_crop4').evaluate(img, gt)
    assert abs(out['PSNR'] - peak_signal_noise_ratio(b, a)) < 1e-6
    assert abs(out['SSIM'] - structural_similarity(b, a)) < 1e-9


def test_istd_and_realblur_delegate_and_istd_needs_the_mask():
    gt = textured(40, 40, seed=5)
    img = perturbed(gt, seed=6)
    mask = np.zeros((40, 40), np.uint8)
    mask[5:20, 5:25] = 1
    assert get_protocol('istd_lab').evaluate(img, gt, mask) == lab_error(img, gt, mask)
    with pytest.raises(ValueError, match='shadow mask'):
        get_protocol('istd_lab').evaluate(img, gt)
    assert get_protocol('realblur_aligned').evaluate(img, gt) == aligned_psnr_ssim(img, gt)


def test_regions_follow_the_protocol_crop():
    gt = textured(31, 42, seed=7)
    img = gt.copy()
    img[:, 40:] = 0  # damage only columns that agan_y_crop4 crops away
    mask = np.zeros((31, 42), bool)
    mask[:, 30:] = True
    out = get_protocol('agan_y_crop4').evaluate_regions(img, gt, mask)
    assert out['PSNR_degraded'] == math.inf and out['PSNR_clean'] == math.inf
    with pytest.raises(ValueError, match='no region metrics'):
        get_protocol('realblur_aligned').evaluate_regions(img, gt, mask)


def test_aggregate_scores_means_skip_nan_keep_inf():
    summary = aggregate_scores([
        {'PSNR': 30.0, 'PSNR_degraded': float('nan')},
        {'PSNR': 40.0, 'PSNR_degraded': 20.0},
    ])
    assert summary == {'PSNR': 35.0, 'PSNR_degraded': 20.0}
    assert aggregate_scores([{'PSNR': 30.0}, {'PSNR': math.inf}])['PSNR'] == math.inf
    assert math.isnan(aggregate_scores([{'X': float('nan')}])['X'])
