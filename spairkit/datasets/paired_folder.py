"""The generic layout: a folder of degraded images, one of clean images, optionally masks.

::

    data_root/
      input/   3_rain.png  4_rain.png ...
      target/  3_clean.png 4_clean.png ...
      mask/    3.png       4.png ...        (optional)

Files are paired by the stem their filename template extracts (see
:mod:`spairkit.datasets.pairing`); the default templates ``'{stem}{ext}'``
pair identical base names, allowing different image extensions.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from spairkit.registry import DATASETS

from .base import PairedImageDataset
from .pairing import pair_by_template


@DATASETS.register_module()
class PairedFolderDataset(PairedImageDataset):
    """Pairs ``data_root/input_dir`` with ``data_root/target_dir`` by filename templates.

    Args:
        input_dir, target_dir: sub-folders of ``data_root`` (may be the same
            folder when the templates tell the files apart).
        mask_dir: optional folder of ground-truth masks (255 or 1 = degraded).
        input_template, target_template, mask_template: filename rules with one
            ``{stem}`` and optionally ``{ext}``, e.g. ``'{stem}_rain.png'``.
        ignore_unmatched: leave out image files that match no template instead
            of reporting them.
        **kwargs: see :class:`PairedImageDataset` (``task``, ``pipeline``,
            ``check_files``, ``on_bad_sample``, ...).
    """

    def __init__(self,
                 data_root: str = '',
                 input_dir: str = 'input',
                 target_dir: str = 'target',
                 mask_dir: str | None = None,
                 input_template: str = '{stem}{ext}',
                 target_template: str = '{stem}{ext}',
                 mask_template: str = '{stem}{ext}',
                 ignore_unmatched: bool = False,
                 pipeline: Sequence[dict | Callable] = (),
                 **kwargs):
        self.roles = {'img_path': (input_dir, input_template),
                      'gt_path': (target_dir, target_template)}
        if mask_dir is not None:
            self.roles['mask_path'] = (mask_dir, mask_template)
        self.ignore_unmatched = ignore_unmatched
        super().__init__(data_root=data_root, pipeline=pipeline, **kwargs)

    def scan_pairs(self) -> list[dict]:
        return pair_by_template(self.roles, data_root=self.data_root,
                                ignore_unmatched=self.ignore_unmatched)
