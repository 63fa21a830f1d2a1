"""Comparison grids, the training report hook and ``spairkit test --save-images``."""
from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.visualization import Visualizer

from spairkit.cli.main import main
from spairkit.engine.hooks import VisualReportHook
from spairkit.visualization import make_comparison_grid, stack_rows
from spairkit.visualization.grid import GAP, LABEL_HEIGHT, MIN_PANEL_WIDTH
from tests.apis.conftest import TINY_CONFIG, smooth_rgb


def test_grid_layout_and_contents():
    img = smooth_rgb(150, 140)
    mask = np.zeros((150, 140), np.float32)
    mask[:, :70] = 1.0
    grid = make_comparison_grid(img, mask, img, img)
    assert grid.dtype == np.uint8 and grid.shape == (150 + LABEL_HEIGHT, 4 * 140 + 3 * GAP, 3)
    np.testing.assert_array_equal(grid[LABEL_HEIGHT:, :140], img)  # input panel as given
    mask_panel = grid[LABEL_HEIGHT:, 140 + GAP:2 * 140 + GAP]
    assert (mask_panel[:, :70] == 255).all() and (mask_panel[:, 70:] == 0).all()
    assert grid[:LABEL_HEIGHT, :140].max() > 0  # a label is drawn
    without_target = make_comparison_grid(img, mask, img)
    assert without_target.shape[1] == 3 * 140 + 2 * GAP


def test_tiny_and_16_bit_panels_are_enlarged_and_converted():
    img16 = smooth_rgb(5, 7, dtype=np.uint16)
    grid = make_comparison_grid(img16, np.full((5, 7), 0.5, np.float32), img16)
    factor = -(-MIN_PANEL_WIDTH // 7)
    assert grid.shape[0] == LABEL_HEIGHT + 5 * factor
    expected = np.rint(img16[0, 0] / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(grid[LABEL_HEIGHT, 0], expected)
    with pytest.raises(ValueError, match='share a size'):
        make_comparison_grid(img16, np.zeros((4, 7)), img16)
    rows = stack_rows([grid, grid[:, :50]])
    assert rows.shape == (2 * grid.shape[0] + GAP, grid.shape[1], 3)


def _batch(n: int, size: int = 16):
    samples = [{'gt': torch.from_numpy(smooth_rgb(size, size, seed=i)).permute(2, 0, 1),
                'metainfo': {'img_path': f'img{i}.png', 'max_value': 255}} for i in range(n)]
    inputs = [torch.from_numpy(smooth_rgb(size, size, seed=10 + i)).permute(2, 0, 1)
              for i in range(n)]
    return {'inputs': inputs, 'data_samples': samples}


def test_visual_report_hook_writes_grids_to_disk_and_backend(restorer, tmp_path):
    val_batches = [_batch(1) for _ in range(5)]
    visualizer = Visualizer.get_instance(
        'visual_report_test', vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path / 'vis_data'))
    runner = SimpleNamespace(iter=0, work_dir=str(tmp_path), model=restorer,
                             val_loop=SimpleNamespace(dataloader=val_batches),
                             visualizer=visualizer)
    hook = VisualReportHook(interval=2, max_images=3)
    restorer.train()
    for it in range(4):
        runner.iter = it
        hook.after_train_iter(runner, it, data_batch=_batch(2))
    assert restorer.training  # the hook puts the model back in training mode
    restorer.eval()
    written = sorted(p.name for p in (tmp_path / 'vis').iterdir())
    assert written == ['iter_2.png', 'iter_4.png']
    grid = cv2.imread(str(tmp_path / 'vis' / 'iter_4.png'))
    row_h = LABEL_HEIGHT + 16 * (-(-MIN_PANEL_WIDTH // 16))
    assert grid.shape[0] == 3 * row_h + 2 * GAP  # max_images rows
    assert grid.shape[1] == 4 * 16 * (-(-MIN_PANEL_WIDTH // 16)) + 3 * GAP  # with target
    backend_files = list((tmp_path / 'vis_data').rglob('restoration_*.png'))
    assert sorted(p.stem for p in backend_files) == ['restoration_2', 'restoration_4']


def test_visual_report_hook_falls_back_to_the_training_batch(restorer, tmp_path):
    visualizer = Visualizer.get_instance('visual_report_fallback', vis_backends=[],
                                         save_dir=str(tmp_path))
    runner = SimpleNamespace(iter=0, work_dir=str(tmp_path), model=restorer, val_loop=None,
                             visualizer=visualizer)
    restorer.train()
    VisualReportHook(interval=1, max_images=4).after_train_iter(runner, 0, _batch(2))
    assert restorer.training
    restorer.eval()
    assert (tmp_path / 'vis' / 'iter_1.png').is_file()


def test_spairkit_test_save_images(capsys, tmp_path, tiny_checkpoint):
    out = tmp_path / 'images'
    code = main(['test', str(TINY_CONFIG), str(tiny_checkpoint), '--work-dir',
                 str(tmp_path / 'work'), '--save-images', str(out)])
    assert code == 0, capsys.readouterr().err
    names = sorted(p.name for p in out.iterdir())
    restored = [n for n in names if not n.endswith('_mask.png')]
    assert len(restored) == 2 and len(names) == 4  # the config's 2 test images + masks
    for name in restored:
        img = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        mask = cv2.imread(str(out / name.replace('.png', '_mask.png')), cv2.IMREAD_UNCHANGED)
        assert img.shape == (32, 32, 3) and mask.shape == (32, 32)
    assert 'psnr' in capsys.readouterr().out.lower()
