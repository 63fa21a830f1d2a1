"""Rain-streak dataset layouts (Rain13K family, Rain100 originals, SPA-Data).

Written against spairkit's public dataset API only, as a third-party plugin
would be. Pairing is always by file name (see ``docs/datasets.md``).
"""
from __future__ import annotations

import os

from spairkit.datasets import PairedFolderDataset, PairedImageDataset, PairListDataset
from spairkit.datasets.pairing import pair_by_template
from spairkit.errors import ConfigError
from spairkit.registry import DATASETS

TASK = 'rain_streak'


@DATASETS.register_module()
class Rain13KDataset(PairedFolderDataset):
    """Rain13K / Rain100H / Rain100L / Test100 / Test1200 / Test2800 as distributed by MPRNet.

    ``data_root/input/<name>`` pairs with ``data_root/target/<name>`` (same stem;
    the extension may differ). Further arguments as :class:`PairedFolderDataset`.
    """

    def __init__(self, data_root: str = '', input_dir: str = 'input',
                 target_dir: str = 'target', **kwargs):
        kwargs.setdefault('task', TASK)
        super().__init__(data_root=data_root, input_dir=input_dir, target_dir=target_dir,
                         **kwargs)


#: Rain100 layouts: role -> (folder, template).
RAIN100_LAYOUTS = {
    # PReNet's RainTrainH/RainTrainL and Rain100H test: both in one folder.
    'flat': {'img_path': ('.', 'rain-{stem}{ext}'), 'gt_path': ('.', 'norain-{stem}{ext}')},
    # PReNet's Rain100L test: rainy/rain-N.png next to norain-N.png.
    'rainy': {'img_path': ('rainy', 'rain-{stem}{ext}'),
              'gt_path': ('.', 'norain-{stem}{ext}')},
    # rain/rain-N.png and norain/norain-N.png.
    'rain_norain': {'img_path': ('rain', 'rain-{stem}{ext}'),
                    'gt_path': ('norain', 'norain-{stem}{ext}')},
    # JORDER's original release: rain/X2/norain-Nx2.png and norain/norain-N.png.
    'x2': {'img_path': (os.path.join('rain', 'X2'), 'norain-{stem}x2{ext}'),
           'gt_path': ('norain', 'norain-{stem}{ext}')},
}


@DATASETS.register_module()
class Rain100Dataset(PairedImageDataset):
    """Rain100H/L in their original ``rain-N.png`` / ``norain-N.png`` naming.

    Args:
        layout: one of :data:`RAIN100_LAYOUTS` or ``'auto'`` (default), which
            picks ``'x2'`` if ``rain/X2/`` exists, else ``'rain_norain'`` if
            ``rain/`` and ``norain/`` exist, else ``'rainy'`` if ``rainy/``
            exists, else ``'flat'``. The chosen layout is in :attr:`layout`.
        **kwargs: see :class:`~spairkit.datasets.PairedImageDataset`.
    """

    def __init__(self, data_root: str = '', layout: str = 'auto', **kwargs):
        if layout != 'auto' and layout not in RAIN100_LAYOUTS:
            raise ConfigError(f"Rain100Dataset.layout must be 'auto' or one of "
                              f'{sorted(RAIN100_LAYOUTS)}, got {layout!r}')
        self.layout = layout
        kwargs.setdefault('task', TASK)
        super().__init__(data_root=data_root, **kwargs)

    def detect_layout(self) -> str:
        def has(*parts: str) -> bool:
            return os.path.isdir(os.path.join(self.data_root, *parts))

        if has('rain', 'X2'):
            return 'x2'
        if has('rain') and has('norain'):
            return 'rain_norain'
        if has('rainy'):
            return 'rainy'
        return 'flat'

    def scan_pairs(self) -> list[dict]:
        if self.layout == 'auto':
            self.layout = self.detect_layout()
        return pair_by_template(RAIN100_LAYOUTS[self.layout], data_root=self.data_root)


@DATASETS.register_module()
class SPADataset(PairListDataset):
    """SPA-Data (real rain) from its list files, e.g. ``real_world.txt``.

    Each line is ``rain_path gt_path`` relative to ``data_root`` (a leading
    ``/`` is allowed, as in the official lists). For the folder-style test set
    use :class:`Rain13KDataset` or ``PairedFolderDataset`` with its folder names.
    """

    def __init__(self, ann_file: str = 'real_world.txt', data_root: str = '', **kwargs):
        kwargs.setdefault('task', TASK)
        super().__init__(ann_file=ann_file, data_root=data_root,
                         columns=('input', 'target'), **kwargs)
