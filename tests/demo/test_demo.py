"""`spairkit demo --fast` writes the four files of SPEC.md, and `spairkit restore` loads them."""
from __future__ import annotations

import contextlib
import io

import cv2
import numpy as np
import pytest
import torch

from spairkit.cli.main import main


@pytest.fixture(scope='module')
def demo_dir(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    work = tmp_path_factory.mktemp('demo')
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            assert main(['demo', '--work-dir', str(work), '--fast']) == 0
    finally:
        torch.set_num_threads(before)
    assert 'held-out PSNR (Y)' in out.getvalue()
    return work


def test_demo_writes_the_four_files(demo_dir):
    for name in ('model.py', 'model.pth', 'report.md', 'comparison.png'):
        assert (demo_dir / name).is_file(), name
    report = (demo_dir / 'report.md').read_text()
    for needle in ('| input |', '| output |', 'PSNR degraded', 'PSNR clean', 'Wall time',
                   'held-out'):
        assert needle in report, needle
    grid = cv2.imread(str(demo_dir / 'comparison.png'))
    assert grid is not None and grid.shape[1] > 3 * grid.shape[0] // 2  # four panels wide
    checkpoint = torch.load(demo_dir / 'model.pth', weights_only=True)
    keys = checkpoint['state_dict'].keys()
    assert any(k.startswith('netl.') for k in keys) and any(k.startswith('netr.') for k in keys)


def test_restore_loads_the_demo_model(demo_dir, tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (21, 30, 3), dtype=np.uint8)
    src = tmp_path / 'rainy.png'
    cv2.imwrite(str(src), image)
    before = src.read_bytes()
    code = main(['restore', str(demo_dir / 'model.py'), str(demo_dir / 'model.pth'), str(src),
                 str(tmp_path / 'restored.png'), '--save-mask', '--no-progress'])
    assert code == 0
    restored = cv2.imread(str(tmp_path / 'restored.png'))
    assert restored.shape == image.shape
    assert (tmp_path / 'restored_mask.png').is_file()
    assert src.read_bytes() == before


def test_demo_task_swaps_the_synthesiser_and_keeps_the_task_rule():
    from spairkit.demo.pipeline import DEMO_TASKS, _stage_config
    from spairkit.tasks import get_task

    for task in DEMO_TASKS:
        cfg = _stage_config('spairkit::demo/demo_localizer.py', 'unused', fast=True, task=task)
        expected = get_task(task).synthesizer['type']
        for split in ('train_dataloader', 'test_dataloader'):
            assert cfg[split].dataset.task == task
            assert cfg[split].dataset.degradation['type'] == expected


def test_demo_applies_the_task_demo_options_to_both_stages():
    from spairkit.demo.pipeline import _stage_config
    from spairkit.tasks import get_task

    assert get_task('shadow').demo_options == {'train_dataloader.dataset.patch_size': 64}
    assert get_task('rain_streak').demo_options == {}
    for path in ('spairkit::demo/demo_localizer.py', 'spairkit::demo/demo_restorer.py'):
        shadow = _stage_config(path, 'unused', fast=False, task='shadow')
        rain = _stage_config(path, 'unused', fast=False, task='rain_streak')
        assert shadow.train_dataloader.dataset.patch_size == 64
        assert rain.train_dataloader.dataset.patch_size == 160
        # only the training patches: the held-out evaluation is the same for every task
        assert shadow.test_dataloader.dataset.patch_size == 160
    # raindrops: MSE + L1 on the clean pixels instead of the demo's L1, built as it trains
    from spairkit.models.losses.composite import SumOfLosses
    from spairkit.registry import LOSSES

    drop = _stage_config('spairkit::demo/demo_restorer.py', 'unused', fast=False,
                         task='raindrop')
    assert 'pixel_loss' not in rain.model
    loss = LOSSES.build(drop.model.pixel_loss.to_dict())
    assert isinstance(loss, SumOfLosses) and loss.requires_mask
    pred, target = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1  # half the pixels degraded: the L1 term sees the other half
    assert float(loss(pred, target, mask)) == pytest.approx(1.0 + 0.2 * 0.5)


def test_demo_unknown_task_is_a_one_line_error(tmp_path, capsys):
    assert main(['demo', '--work-dir', str(tmp_path / 'w'), '--fast', '--task', 'snow']) == 2
    err = capsys.readouterr().err
    assert 'snow' in err and 'raindrop' in err and 'Traceback' not in err
