"""A tiny restorer config and a random-weights checkpoint in the runner's format."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

TINY_CONFIG = Path(__file__).with_name('tiny_restorer.py')


@pytest.fixture(scope='session', autouse=True)
def _one_torch_thread():
    """The test machine is shared: one intra-op thread is much faster than oversubscribing."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def build_random_restorer(seed: int = 0):
    """The tiny restorer with random weights, built as ``init_restorer`` would build it.

    Net_L's last bias is shifted so the predicted mask is neither all clean nor all
    degraded on ordinary images (random weights put every probability near 0.5), and
    Net_R's output layer is scaled by 0.1 so the model changes an image about as much
    as a trained deraining model does (~31 dB PSNR between input and output, instead of
    ~12 dB for raw random weights); tiling errors scale with that change.
    """
    from mmengine.registry import DefaultScope

    from spairkit.config import load_config
    from spairkit.registry import MODELS

    cfg = load_config(TINY_CONFIG)
    model_cfg = cfg.model.to_dict()
    model_cfg['netl_checkpoint'] = None
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('spairkit'):
        model = MODELS.build(model_cfg)
    model.eval()
    probe = torch.from_numpy(smooth_rgb(32, 32, seed=seed)).permute(2, 0, 1)[None] / 255.0
    with torch.no_grad():
        logits, _ = model.netl(probe)
        model.netl.head.bias -= logits.median()
        model.netr.head.weight.mul_(0.1)
        model.netr.head.bias.mul_(0.1)
    return model


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory) -> Path:
    """``{'state_dict', 'meta'}`` saved with torch.save: plain, loads weights-only."""
    model = build_random_restorer()
    path = tmp_path_factory.mktemp('ckpt') / 'tiny_restorer.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'iter': 0}}, path)
    return path


@pytest.fixture(scope='session')
def restorer(tiny_checkpoint):
    from spairkit.apis import init_restorer
    return init_restorer(TINY_CONFIG, tiny_checkpoint, device='cpu')


def smooth_rgb(h: int, w: int, dtype=np.uint8, seed: int = 0) -> np.ndarray:
    """A smooth colour image (bilinear upsampling of 3x3 noise) in ``dtype``'s range."""
    import cv2
    rng = np.random.default_rng(seed)
    low = rng.uniform(0.15, 0.85, size=(3, 3, 3)).astype(np.float32)
    img = cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR)
    top = 255 if dtype == np.uint8 else 65535
    return np.rint(np.clip(img, 0, 1) * top).astype(dtype)
