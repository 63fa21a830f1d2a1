"""The Python API: init_restorer and restore_image on every supported kind of image."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from spairkit.apis import RestorationResult, init_restorer, restore_image
from spairkit.errors import CheckpointError, ConfigError, DataError, UserError
from tests.apis.conftest import TINY_CONFIG, build_random_restorer, smooth_rgb


def _direct(model, rgb_float: np.ndarray):
    """The model's own predict on a float RGB image: what restore_image must reproduce."""
    x = torch.from_numpy(rgb_float).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        out = model.predict(x)[0]
    return out['pred'].permute(1, 2, 0).numpy(), out['pred_mask'][0].numpy()


def test_uint8_rgb_matches_the_model(restorer):
    img = smooth_rgb(24, 32)
    result = restore_image(restorer, img)
    assert isinstance(result, RestorationResult)
    assert result.restored.shape == img.shape and result.restored.dtype == np.uint8
    assert result.mask.shape == (24, 32) and result.mask.dtype == np.float32
    pred, mask = _direct(restorer, img.astype(np.float32) / 255)
    np.testing.assert_array_equal(result.restored, np.rint(np.clip(pred, 0, 1) * 255))
    np.testing.assert_allclose(result.mask, mask, atol=1e-6)
    # The tiny random model does restore something: output differs from the input.
    assert np.abs(result.restored.astype(int) - img).max() > 0
    assert 0.0 < (result.mask > 0.5).mean() < 1.0


def test_uint16_keeps_16_bit_precision(restorer):
    img = smooth_rgb(20, 18, dtype=np.uint16)
    result = restore_image(restorer, img)
    assert result.restored.dtype == np.uint16 and result.restored.shape == img.shape
    pred, _ = _direct(restorer, img.astype(np.float32) / 65535)
    expected = np.rint(np.clip(pred, 0, 1) * 65535)
    assert np.abs(result.restored.astype(np.int64) - expected).max() <= 1
    assert len(np.unique(result.restored)) > 256  # not quantised through 8 bits


def test_grayscale_in_grayscale_out(restorer):
    gray = smooth_rgb(15, 21)[:, :, 1]
    result = restore_image(restorer, gray)
    assert result.restored.shape == gray.shape and result.restored.dtype == np.uint8
    pred, _ = _direct(restorer, np.repeat(gray[:, :, None], 3, 2).astype(np.float32) / 255)
    expected = np.rint(np.clip(pred, 0, 1).mean(axis=2) * 255)
    assert np.abs(result.restored.astype(int) - expected).max() <= 1
    one_channel = restore_image(restorer, gray[:, :, None])
    assert one_channel.restored.shape == (15, 21, 1)
    np.testing.assert_array_equal(one_channel.restored[:, :, 0], result.restored)


def test_rgba_alpha_passes_through(restorer):
    rgb = smooth_rgb(13, 17)
    alpha = np.arange(13 * 17, dtype=np.uint8).reshape(13, 17)
    rgba = np.concatenate([rgb, alpha[:, :, None]], axis=2)
    result = restore_image(restorer, rgba)
    assert result.restored.shape == (13, 17, 4)
    np.testing.assert_array_equal(result.restored[:, :, 3], alpha)
    np.testing.assert_array_equal(result.restored[:, :, :3], restore_image(restorer, rgb).restored)


@pytest.mark.parametrize('shape', [(7, 5, 3), (5, 7, 3), (1, 1, 3), (1, 9, 3), (33, 47, 3)])
def test_any_size(restorer, shape):
    img = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    result = restore_image(restorer, img)
    assert result.restored.shape == shape
    assert result.mask.shape == shape[:2]
    assert np.isfinite(result.mask).all() and (0 <= result.mask).all() and (result.mask <= 1).all()


def test_float_input(restorer):
    img = smooth_rgb(16, 16).astype(np.float32) / 255
    result = restore_image(restorer, img)
    assert result.restored.dtype == np.float32 and result.restored.shape == img.shape
    assert 0.0 <= result.restored.min() and result.restored.max() <= 1.0
    with pytest.raises(DataError, match=r'\[0, 1\]'):
        restore_image(restorer, img * 2)


@pytest.mark.parametrize('bad', [np.zeros((4, 4, 2), np.uint8), np.zeros((0, 4, 3), np.uint8),
                                 np.zeros((4, 4, 3), np.int32), np.zeros((2, 4, 4, 3), np.uint8)])
def test_bad_images_are_refused(restorer, bad):
    with pytest.raises(DataError):
        restore_image(restorer, bad)


def test_init_restorer_loads_every_weight(restorer, tiny_checkpoint):
    saved = torch.load(tiny_checkpoint, weights_only=True)['state_dict']
    live = restorer.state_dict()
    assert set(saved) == set(live)
    assert all(torch.equal(saved[k], live[k]) for k in saved)
    assert not restorer.training and restorer.stage == 'restorer'
    # The config's netl_checkpoint names a file that does not exist; not needed here.
    assert 'netl_localizer' in restorer.cfg.model.netl_checkpoint


def test_localizer_config_is_refused(tiny_checkpoint):
    with pytest.raises(ConfigError, match='localizer'):
        init_restorer(TINY_CONFIG, tiny_checkpoint, cfg_options=[('model.stage', 'localizer')])


def test_gt_mask_config_is_refused(tiny_checkpoint):
    with pytest.raises(ConfigError, match='use_gt_mask'):
        init_restorer(TINY_CONFIG, tiny_checkpoint, cfg_options={'model.use_gt_mask': True})


def test_localizer_checkpoint_is_refused(tmp_path):
    model = build_random_restorer()
    netl_only = {k: v for k, v in model.state_dict().items() if k.startswith('netl.')}
    path = tmp_path / 'netl.pth'
    torch.save({'state_dict': netl_only, 'meta': {}}, path)
    with pytest.raises(CheckpointError, match=r"no 'netr\.\*' weights"):
        init_restorer(TINY_CONFIG, path)


def test_mismatched_checkpoint_names_the_problem(tmp_path, tiny_checkpoint):
    with pytest.raises(CheckpointError, match='does not fit'):
        init_restorer(TINY_CONFIG, tiny_checkpoint,
                      cfg_options=[('model.netr.base_channels', 12)])


def test_module_prefix_from_ddp_is_accepted(tmp_path, tiny_checkpoint):
    state = torch.load(tiny_checkpoint, weights_only=True)['state_dict']
    path = tmp_path / 'ddp.pth'
    torch.save({'state_dict': {f'module.{k}': v for k, v in state.items()}}, path)
    model = init_restorer(TINY_CONFIG, path)
    assert torch.equal(model.netr.head.weight, state['netr.head.weight'])


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the no-CUDA message')
def test_cuda_without_cuda_is_a_clear_error(tiny_checkpoint):
    with pytest.raises(UserError, match='CUDA is not available'):
        init_restorer(TINY_CONFIG, tiny_checkpoint, device='cuda')
    with pytest.raises(UserError, match='not a device name'):
        init_restorer(TINY_CONFIG, tiny_checkpoint, device='gpu0')
