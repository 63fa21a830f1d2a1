"""Training-time visual reports: input | predicted mask | output | target grids."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from spairkit.registry import HOOKS
from spairkit.visualization.grid import make_comparison_grid, stack_rows
from spairkit.visualization.image_files import write_image_atomic


def _hwc(t: torch.Tensor) -> np.ndarray:
    """(C,H,W) float tensor in [0, 1] -> HxWxC (or HxW for one channel) numpy."""
    arr = t.detach().float().cpu().clamp(0, 1).numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def grid_from_predictions(predictions: list[dict]) -> np.ndarray:
    """One row per ``SPAIR.predict`` result dict (docs/architecture.md, model outputs)."""
    rows = [make_comparison_grid(_hwc(p['input']), _hwc(p['pred_mask']), _hwc(p['pred']),
                                 _hwc(p['gt']) if p.get('gt') is not None else None)
            for p in predictions]
    return stack_rows(rows)


@HOOKS.register_module()
class VisualReportHook(Hook):
    """Every ``interval`` training iterations, show what the model does on fixed images.

    Runs the model in predict mode on the first ``max_images`` images of the validation
    dataloader (the current training batch when there is none), builds a grid with one
    row per image, ``input | predicted mask | output | target``, and

    * saves it as ``<work_dir>/<out_dir>/iter_<n>.png``;
    * sends it to ``runner.visualizer.add_image('restoration', grid, step=n)``, so
      every configured MMEngine vis backend receives it (``LocalVisBackend`` writes
      under the log dir; add ``dict(type='TensorboardVisBackend')`` to
      ``visualizer.vis_backends`` when tensorboard is installed).

    The same validation images are used every time (cached on first use), so the grids
    show progress. Only rank 0 runs the model and writes.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 500, max_images: int = 4, out_dir: str = 'vis'):
        if interval < 1 or max_images < 1:
            raise ValueError(f'VisualReportHook needs interval >= 1 and max_images >= 1, '
                             f'got {interval} and {max_images}')
        self.interval = interval
        self.max_images = max_images
        self.out_dir = out_dir
        self._batches: list[dict] | None = None

    def _val_batches(self, runner) -> list[dict] | None:
        """The first ``max_images`` validation samples as batches of one, cached."""
        if self._batches is None:
            loop = runner.val_loop
            if loop is None:
                return None
            batches, count = [], 0
            for batch in loop.dataloader:
                n = len(batch['inputs'])
                take = min(n, self.max_images - count)
                batches.append({'inputs': batch['inputs'][:take],
                                'data_samples': batch['data_samples'][:take]})
                count += take
                if count >= self.max_images:
                    break
            self._batches = batches
        return self._batches

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval) or not is_main_process():
            return
        step = runner.iter + 1
        batches = self._val_batches(runner)
        if batches is None:
            if data_batch is None:
                return
            batches = [{'inputs': data_batch['inputs'][:self.max_images],
                        'data_samples': data_batch['data_samples'][:self.max_images]}]
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        model.eval()
        try:
            predictions = []
            with torch.no_grad():
                for batch in batches:
                    predictions += model.val_step(batch)
        finally:
            model.train(was_training)
        grid = grid_from_predictions(predictions[:self.max_images])
        write_image_atomic(Path(runner.work_dir) / self.out_dir / f'iter_{step}.png', grid)
        runner.visualizer.add_image('restoration', grid, step=step)
