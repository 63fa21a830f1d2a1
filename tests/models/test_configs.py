"""Every packaged model config builds the Table 6 variant it names and runs."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from spairkit.config import load_config
from spairkit.models import SFM, DenseBlock, NonLocal, SparseConvBlock, SparseNonLocal
from spairkit.registry import MODELS

CONFIGS = Path(__file__).resolve().parents[2] / 'plugins' / 'rain_streak' / 'configs' / 'spair'

EXPECTED = {  # config -> (decoder block types at every level, has SFM)
    'net1.py': ([DenseBlock], False),
    'net2.py': ([DenseBlock], True),
    'net3.py': ([SparseConvBlock], True),
    'net4.py': ([SparseConvBlock, NonLocal], True),
    'spair.py': ([SparseConvBlock, SparseNonLocal], True),
    'spair_timm.py': ([SparseConvBlock, SparseNonLocal], True),
}


def test_localizer_config():
    cfg = load_config(CONFIGS / 'netl_localizer.py')
    model = MODELS.build(cfg.model)
    assert model.stage == 'localizer' and model.netr is None
    assert cfg.default_scope == 'spairkit'
    for key in ('train_dataloader', 'optim_wrapper', 'train_cfg', 'default_hooks'):
        assert key in cfg


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_restorer_config_builds_its_variant(name):
    cfg = load_config(CONFIGS / name)
    assert cfg.model.netl_checkpoint == 'work_dirs/netl_localizer'
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    blocks, has_sfm = EXPECTED[name]
    assert model.stage == 'restorer'
    for level in model.netr.decoder_blocks:
        assert [type(b) for b in level] == blocks
    assert all(isinstance(m, SFM) for m in model.netr.sfm.values())
    assert (len(model.netr.sfm) > 0) == has_sfm
    model.eval()
    x = torch.rand(1, 3, 19, 23)
    with torch.no_grad():
        out = model(x, mode='tensor')
    assert out.shape == x.shape and torch.isfinite(out).all()
