"""``spairkit test --save-images DIR``: write every test image's restoration and mask."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from mmengine.hooks import Hook

from spairkit.registry import HOOKS
from spairkit.visualization.image_files import float_to_dtype, mask_to_uint8, write_image_atomic


@HOOKS.register_module()
class SaveImagesHook(Hook):
    """After each test batch, write ``<out_dir>/<name>.png`` and ``<name>_mask.png``.

    ``<name>`` is the stem of the sample's ``metainfo['img_path']`` (``test_<index>``
    when absent; a repeated stem gets ``_<k>``). The restored image keeps the dataset's
    bit depth (``metainfo['max_value']`` 65535 -> 16-bit PNG); the mask is Net_L's
    probability as 8-bit 0..255. PNG always, so nothing is lost to compression.
    Every rank writes the samples it evaluated.
    """

    priority = 'NORMAL'

    def __init__(self, out_dir: str):
        self.out_dir = Path(out_dir)
        self._used: set[str] = set()
        self._count = 0

    def before_test(self, runner) -> None:
        self._used, self._count = set(), 0

    def _name(self, metainfo: dict) -> str:
        path = metainfo.get('img_path')
        stem = Path(str(path)).stem if path else f'test_{self._count}'
        name, k = stem, 1
        while name in self._used:
            name, k = f'{stem}_{k}', k + 1
        self._used.add(name)
        return name

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for sample in outputs or []:
            meta = sample.get('metainfo', {})
            name = self._name(meta)
            self._count += 1
            dtype = np.uint16 if float(meta.get('max_value', 255)) > 255 else np.uint8
            pred = sample['pred']
            pred = pred.detach().float().cpu().permute(1, 2, 0).numpy() \
                if isinstance(pred, torch.Tensor) else np.asarray(pred)
            write_image_atomic(self.out_dir / f'{name}.png', float_to_dtype(pred, dtype))
            if sample.get('pred_mask') is not None:
                mask = sample['pred_mask']
                mask = mask.detach().float().cpu().numpy() \
                    if isinstance(mask, torch.Tensor) else np.asarray(mask)
                write_image_atomic(self.out_dir / f'{name}_mask.png',
                                   mask_to_uint8(mask.reshape(mask.shape[-2:])))
