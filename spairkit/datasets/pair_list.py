"""Datasets described by a list file: one ``degraded clean`` path pair per line.

Used by benchmarks that ship their pairing as text (SPA-Data, RealBlur); the
column order is configurable because those two disagree.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from spairkit.errors import ConfigError
from spairkit.registry import DATASETS

from .base import PairedImageDataset
from .pairing import read_pair_list

_COLUMN_NAMES = {'input': 'img_path', 'target': 'gt_path', 'mask': 'mask_path'}


@DATASETS.register_module()
class PairListDataset(PairedImageDataset):
    """Pairs listed in ``ann_file``; paths are relative to ``data_root``.

    Args:
        ann_file: the list file, relative to ``data_root`` unless absolute.
        columns: what each column of a line holds, from ``'input'``,
            ``'target'`` and ``'mask'`` (default ``('input', 'target')``).
        **kwargs: see :class:`PairedImageDataset`.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 columns: Sequence[str] = ('input', 'target'),
                 pipeline: Sequence[dict | Callable] = (),
                 **kwargs):
        unknown = [c for c in columns if c not in _COLUMN_NAMES]
        if unknown or 'input' not in columns or 'target' not in columns:
            raise ConfigError(
                f'columns must name input and target (and optionally mask) from '
                f'{sorted(_COLUMN_NAMES)}, got {list(columns)}')
        self.list_file = ann_file if os.path.isabs(ann_file) else os.path.join(data_root, ann_file)
        self.columns = tuple(_COLUMN_NAMES[c] for c in columns)
        super().__init__(data_root=data_root, pipeline=pipeline, **kwargs)

    def scan_pairs(self) -> list[dict]:
        return read_pair_list(self.list_file, data_root=self.data_root, columns=self.columns)
