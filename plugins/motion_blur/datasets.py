"""Motion-blur dataset layouts: GoPro, HIDE and RealBlur.

Written against spairkit's public dataset API only, as a third-party plugin
would be.
"""
from __future__ import annotations

import os

from spairkit.datasets import PairedImageDataset
from spairkit.datasets.pairing import natural_key, pair_by_template, read_pair_list
from spairkit.errors import DataError
from spairkit.registry import DATASETS

TASK = 'motion_blur'


@DATASETS.register_module()
class GoProDataset(PairedImageDataset):
    """GoPro (GOPRO_Large): ``data_root/<split>/<sequence>/{blur,sharp}/<frame>.png``.

    Frames are paired by identical file names inside each sequence; sample keys
    are ``<sequence>/<frame>``.

    Args:
        split: sub-folder of ``data_root`` (``'train'`` or ``'test'``).
        blur_dir: ``'blur'`` (default) or ``'blur_gamma'``.
        sharp_dir: the sharp folder name.
        **kwargs: see :class:`~spairkit.datasets.PairedImageDataset`.
    """

    def __init__(self, data_root: str = '', split: str = 'train', blur_dir: str = 'blur',
                 sharp_dir: str = 'sharp', **kwargs):
        self.split = split
        self.blur_dir = blur_dir
        self.sharp_dir = sharp_dir
        kwargs.setdefault('task', TASK)
        super().__init__(data_root=data_root, **kwargs)

    def scan_pairs(self) -> list[dict]:
        split_dir = os.path.join(self.data_root, self.split)
        if not os.path.isdir(split_dir):
            raise DataError(f'GoPro split folder not found: {split_dir}')
        sequences = sorted((d for d in os.listdir(split_dir)
                            if os.path.isdir(os.path.join(split_dir, d))), key=natural_key)
        if not sequences:
            raise DataError(f'GoPro split folder has no sequence folders: {split_dir}')
        pairs = []
        for seq in sequences:
            roles = {'img_path': (os.path.join(seq, self.blur_dir), '{stem}{ext}'),
                     'gt_path': (os.path.join(seq, self.sharp_dir), '{stem}{ext}')}
            pairs.extend(pair_by_template(roles, data_root=split_dir, key_prefix=f'{seq}/'))
        return pairs


def _input_target(data_root: str, input_dir: str, target_dir: str) -> list[dict]:
    roles = {'img_path': (input_dir, '{stem}{ext}'), 'gt_path': (target_dir, '{stem}{ext}')}
    return pair_by_template(roles, data_root=data_root)


@DATASETS.register_module()
class HIDEDataset(PairedImageDataset):
    """HIDE: ``data_root/input/<name>`` pairs with ``data_root/target/<name>``.

    For the original release point ``input_dir`` at ``test/test-long-shot`` (or
    ``test/test-close-ups``) and ``target_dir`` at ``GT``: the names are the same.
    """

    def __init__(self, data_root: str = '', input_dir: str = 'input',
                 target_dir: str = 'target', **kwargs):
        self.input_dir = input_dir
        self.target_dir = target_dir
        kwargs.setdefault('task', TASK)
        super().__init__(data_root=data_root, **kwargs)

    def scan_pairs(self) -> list[dict]:
        return _input_target(self.data_root, self.input_dir, self.target_dir)


@DATASETS.register_module()
class RealBlurDataset(PairedImageDataset):
    """RealBlur-J / RealBlur-R, from ``input/`` + ``target/`` or from an official list.

    With ``ann_file`` (e.g. ``RealBlur_J_test_list.txt``) each line is
    ``gt_path blur_path`` relative to ``data_root`` - note the sharp image comes
    first in RealBlur's lists. Without it, ``input_dir``/``target_dir`` are paired
    by identical names.
    """

    def __init__(self, data_root: str = '', ann_file: str | None = None,
                 input_dir: str = 'input', target_dir: str = 'target', **kwargs):
        self.list_file = (None if ann_file is None else
                          ann_file if os.path.isabs(ann_file) else
                          os.path.join(data_root, ann_file))
        self.input_dir = input_dir
        self.target_dir = target_dir
        kwargs.setdefault('task', TASK)
        super().__init__(data_root=data_root, **kwargs)

    def scan_pairs(self) -> list[dict]:
        if self.list_file is not None:
            return read_pair_list(self.list_file, data_root=self.data_root,
                                  columns=('gt_path', 'img_path'))
        return _input_target(self.data_root, self.input_dir, self.target_dir)
