"""Shadow dataset layout: ISTD (Wang et al., CVPR 2018) and ISTD+.

Written against spairkit's public dataset API only, as a third-party plugin
would be.
"""
from __future__ import annotations

from spairkit.datasets import PairedFolderDataset
from spairkit.errors import ConfigError
from spairkit.registry import DATASETS

TASK = 'shadow'


@DATASETS.register_module()
class ISTDDataset(PairedFolderDataset):
    """ISTD: ``<split>_A`` shadow images, ``<split>_B`` masks, ``<split>_C`` shadow-free.

    The ``_B`` masks become the ground-truth mask (255 -> 1), so no threshold is
    needed. Files are paired by identical stems across the three folders.

    Args:
        split: ``'train'`` or ``'test'``.
        with_mask: read the ``_B`` masks (default True).
        shadow_free_dir: override the ``_C`` folder, e.g. ``'train_C_fixed_official'``
            for ISTD+ (the colour-adjusted targets).
        **kwargs: see :class:`~spairkit.datasets.PairedFolderDataset`.
    """

    def __init__(self, data_root: str = '', split: str = 'train', with_mask: bool = True,
                 shadow_free_dir: str | None = None, **kwargs):
        if split not in ('train', 'test'):
            raise ConfigError(f"ISTDDataset.split must be 'train' or 'test', got {split!r}")
        self.split = split
        kwargs.setdefault('task', TASK)
        super().__init__(data_root=data_root, input_dir=f'{split}_A',
                         target_dir=shadow_free_dir or f'{split}_C',
                         mask_dir=f'{split}_B' if with_mask else None, **kwargs)
