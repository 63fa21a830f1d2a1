"""Raindrop dataset layout: AGAN / DeRaindrop (Qian et al., CVPR 2018).

Written against spairkit's public dataset API only, as a third-party plugin
would be.
"""
from __future__ import annotations

from spairkit.datasets import PairedFolderDataset
from spairkit.registry import DATASETS

TASK = 'raindrop'


@DATASETS.register_module()
class AGANDataset(PairedFolderDataset):
    """``data_root/data/N_rain.png`` pairs with ``data_root/gt/N_clean.png``.

    Covers the train, test_a and test_b folders (``.png`` or ``.jpg``; the
    extension may differ between the two files of a pair).
    """

    def __init__(self, data_root: str = '', input_dir: str = 'data', target_dir: str = 'gt',
                 input_template: str = '{stem}_rain{ext}',
                 target_template: str = '{stem}_clean{ext}', **kwargs):
        kwargs.setdefault('task', TASK)
        super().__init__(data_root=data_root, input_dir=input_dir, target_dir=target_dir,
                         input_template=input_template, target_template=target_template,
                         **kwargs)
