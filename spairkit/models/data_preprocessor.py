"""Batch preparation for SPAIR: integer images to float [0, 1], stacked, on the device."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from spairkit.errors import DataError
from spairkit.registry import MODELS

_DTYPE_MAX = {torch.uint8: 255.0, torch.int16: 32767.0, torch.uint16: 65535.0,
              torch.int32: 65535.0}


def _max_value(t: torch.Tensor, metainfo: dict) -> float:
    """The value that maps to 1.0: ``metainfo['max_value']``, else implied by the dtype.

    Integer images without ``max_value`` use their dtype's range (uint8: 255, uint16
    stored in int32 by some loaders: 65535); float images are taken as already in [0, 1].
    """
    if 'max_value' in metainfo:
        return float(metainfo['max_value'])
    if t.is_floating_point():
        return 1.0
    if t.dtype not in _DTYPE_MAX:
        raise DataError(f'cannot scale an image of dtype {t.dtype} to [0, 1] without '
                        "metainfo['max_value']")
    return _DTYPE_MAX[t.dtype]


def _describe(sample: dict | None, index: int) -> str:
    meta = (sample or {}).get('metainfo', {})
    return str(meta.get('img_path', f'batch item {index}'))


@MODELS.register_module()
class RestorationDataPreprocessor(BaseDataPreprocessor):
    """Turns a collated batch into model inputs (docs/architecture.md, "Data preprocessor").

    Input: ``inputs`` a list of ``(3,H,W)`` uint8/uint16 tensors (or an already stacked
    tensor) and ``data_samples`` a list of dicts with ``gt`` (same dtype), optional
    ``mask`` ``(1,H,W)`` and ``metainfo`` (``max_value`` 255 or 65535). Output:
    ``inputs`` float ``(N,3,H,W)`` in [0, 1] on the model's device, each sample's ``gt``
    ``(3,H,W)`` float in [0, 1], ``mask`` ``(1,H,W)`` float, ``metainfo`` unchanged.
    Images of one batch must share a size (a mismatch names the files).
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        if 'inputs' not in data:
            raise DataError("a batch must have an 'inputs' entry")
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs) if inputs.dim() == 4 else [inputs]
        samples = data.get('data_samples')
        if samples is None:
            samples = [None] * len(inputs)
        if len(samples) != len(inputs):
            raise DataError(f'batch has {len(inputs)} inputs but {len(samples)} data_samples')

        images, out_samples = [], []
        for i, (img, sample) in enumerate(zip(inputs, samples)):
            if not isinstance(img, torch.Tensor) or img.dim() != 3:
                raise DataError(f'{_describe(sample, i)}: input must be a (C,H,W) tensor, '
                                f'got {getattr(img, "shape", type(img).__name__)}')
            meta = dict((sample or {}).get('metainfo', {}))
            scale = _max_value(img, meta)
            images.append(img.float() / scale)
            new = {'metainfo': meta}
            if sample is not None and sample.get('gt') is not None:
                gt = sample['gt']
                if tuple(gt.shape) != tuple(img.shape):
                    raise DataError(f'{_describe(sample, i)}: gt shape {tuple(gt.shape)} '
                                    f'differs from input shape {tuple(img.shape)}')
                new['gt'] = gt.float() / _max_value(gt, meta)
            if sample is not None and sample.get('mask') is not None:
                mask = sample['mask']
                mask = mask.unsqueeze(0) if mask.dim() == 2 else mask
                if tuple(mask.shape) != (1, *img.shape[-2:]):
                    raise DataError(f'{_describe(sample, i)}: mask shape {tuple(mask.shape)} '
                                    f'does not match the image size {tuple(img.shape[-2:])}')
                new['mask'] = mask.float()
            out_samples.append(new)

        self._check_same_size(images, out_samples)
        batch = torch.stack(images, dim=0)
        return self.cast_data({'inputs': batch, 'data_samples': out_samples})

    @staticmethod
    def _check_same_size(images: Sequence[torch.Tensor], samples: Sequence[dict]) -> None:
        sizes = {tuple(img.shape) for img in images}
        if len(sizes) > 1:
            listing = ', '.join(f"{s['metainfo'].get('img_path', f'item {i}')} "
                                f'{tuple(img.shape[-2:])}'
                                for i, (img, s) in enumerate(zip(images, samples)))
            raise DataError('images of one batch must share a size (use batch size 1 for '
                            f'whole images): {listing}')
