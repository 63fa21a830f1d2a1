"""`spairkit test` on a tiny dataset in each task's standard on-disk layout.

For every built-in task, a few image pairs are written in the layout its paper
benchmark ships in (Rain13K/Rain100H, AGAN, ISTD, GoPro), the task's SPAIR config
is evaluated with a random-weights checkpoint, and the printed metrics must hold the
dataset's protocol metrics and the region-aware ones.
"""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch


def _pair(rng, h=40, w=44):
    clean = rng.integers(40, 200, (h, w, 3), dtype=np.uint8)
    clean = cv2.GaussianBlur(clean, (5, 5), 2)
    degraded = clean.copy()
    degraded[8:20, 10:30] = 250  # a bright degraded patch
    return degraded, clean


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)


def rain13k(root: Path, rng) -> dict:
    for i in (1, 2):
        degraded, clean = _pair(rng)
        _write(root / 'input' / f'{i}.png', degraded)
        _write(root / 'target' / f'{i}.png', clean)
    return {'test_dataloader.dataset.data_root': str(root)}


def agan(root: Path, rng) -> dict:
    for i in (0, 1):
        degraded, clean = _pair(rng)
        _write(root / 'data' / f'{i}_rain.png', degraded)
        _write(root / 'gt' / f'{i}_clean.png', clean)
    return {'test_dataloader.dataset.data_root': str(root)}


def istd(root: Path, rng) -> dict:
    for name in ('90-1', '91-2'):
        degraded, clean = _pair(rng)
        mask = np.zeros(degraded.shape[:2], np.uint8)
        mask[8:20, 10:30] = 255
        _write(root / 'test_A' / f'{name}.png', degraded)
        _write(root / 'test_B' / f'{name}.png', mask)
        _write(root / 'test_C' / f'{name}.png', clean)
    return {'test_dataloader.dataset.data_root': str(root)}


def gopro(root: Path, rng) -> dict:
    for seq in ('GOPR0384_11_00', 'GOPR0385_11_01'):
        degraded, clean = _pair(rng)
        _write(root / 'test' / seq / 'blur' / '000001.png', degraded)
        _write(root / 'test' / seq / 'sharp' / '000001.png', clean)
    return {'test_dataloader.dataset.data_root': str(root)}


LAYOUTS = {
    'rain_streak/spair_rain13k.py': (rain13k, ['PSNR', 'SSIM', 'PSNR_degraded', 'PSNR_clean']),
    'raindrop/spair_agan.py': (agan, ['PSNR', 'SSIM', 'PSNR_degraded', 'PSNR_clean']),
    # ISTD's protocol is already region-aware: Lab error over all / shadow / non-shadow.
    'shadow/spair_istd.py': (istd, ['Lab_all', 'Lab_shadow', 'Lab_nonshadow']),
    'motion_blur/spair_gopro.py': (gopro, ['PSNR', 'SSIM', 'PSNR_degraded', 'PSNR_clean']),
}


@pytest.fixture(autouse=True)
def _fast_cpu(monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'torch')  # no compile in this test
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _random_checkpoint(config: Path, path: Path) -> None:
    from mmengine.registry import DefaultScope

    from spairkit.config import load_config
    from spairkit.registry import MODELS

    cfg = load_config(config)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('spairkit'):
        model = MODELS.build(cfg.model)  # Net_L weights come from the checkpoint below
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)


@pytest.mark.parametrize('config_name', sorted(LAYOUTS))
def test_spairkit_test_on_standard_layout(config_name, tmp_path):
    from spairkit.cli.main import main

    make_layout, expected = LAYOUTS[config_name]
    config = 'spairkit::' + config_name  # the task plugin's packaged config
    overrides = make_layout(tmp_path / 'data', np.random.default_rng(0))
    overrides.update({'test_dataloader.num_workers': '0',
                      'test_dataloader.persistent_workers': 'False'})
    ckpt = tmp_path / 'model.pth'
    _random_checkpoint(config, ckpt)
    out, stdout = tmp_path / 'metrics.json', io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(['test', str(config), str(ckpt), '--work-dir', str(tmp_path / 'work'),
                     '--out', str(out), '--cfg-options',
                     *[f'{k}={v}' for k, v in overrides.items()]])
    assert code == 0
    metrics = json.loads(out.read_text())
    printed = stdout.getvalue()
    for key in expected + ['mask/IoU']:
        assert key in metrics, (key, sorted(metrics))
        assert key in printed
        assert isinstance(metrics[key], (int, float)) or metrics[key] in ('inf', 'nan')
