"""Degraded/clean pairs synthesised on the fly from clean photographs.

Lets a model be trained and evaluated with no dataset download: the clean
images are the colour photographs bundled in scikit-image's wheel (or any
folder), and a synthesiser from DEGRADATIONS adds rain, drops, shadows or blur.

Sample ``i`` is drawn entirely from ``np.random.default_rng([seed, i])``: which
photo, where the patch is cut, and the synthesiser's randomness. The data is
therefore identical across runs, machines and data-loader worker counts, and a
held-out set is a fixed set of pairs.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from spairkit.degradations import build_degradation
from spairkit.errors import ConfigError, DataError
from spairkit.registry import DATASETS

from .base import build_pipeline
from .image_io import is_image_file, read_image
from .pairing import natural_key

#: scikit-image colour photographs used for training (all ship in the wheel; no download).
SKIMAGE_TRAIN_PHOTOS = ('astronaut', 'rocket', 'immunohistochemistry', 'motorcycle_left',
                        'motorcycle_right', 'hubble_deep_field')
#: Photographs never used for training, for held-out evaluation.
SKIMAGE_HELDOUT_PHOTOS = ('chelsea', 'coffee')
SKIMAGE_SPLITS = {'train': SKIMAGE_TRAIN_PHOTOS, 'heldout': SKIMAGE_HELDOUT_PHOTOS}


def load_skimage_photo(name: str) -> np.ndarray:
    """One bundled scikit-image photograph as ``HxWx3`` uint8 RGB."""
    import skimage.data

    loaders: dict[str, Callable[[], np.ndarray]] = {
        'motorcycle_left': lambda: skimage.data.stereo_motorcycle()[0],
        'motorcycle_right': lambda: skimage.data.stereo_motorcycle()[1],
    }
    loader = loaders.get(name) or getattr(skimage.data, name, None)
    if loader is None:
        raise ConfigError(f'unknown scikit-image photograph {name!r}')
    try:
        photo = np.asarray(loader())
    except Exception as exc:  # noqa: BLE001 - e.g. a photo that needs a download
        raise DataError(f'cannot load scikit-image photograph {name!r}: {exc}') from exc
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise DataError(f'scikit-image photograph {name!r} is not 8-bit RGB '
                        f'(shape {photo.shape}, {photo.dtype})')
    return photo


@DATASETS.register_module()
class SynthesizedPairDataset(BaseDataset):
    """``num_samples`` pairs made by ``degradation`` from clean photographs.

    Args:
        degradation: config of a DEGRADATIONS synthesiser
            (``dict(type=<a registered synthesiser>, ...)``; a task's is ``Task.synthesizer``).
        task: task name stored in every sample.
        num_samples: length of the dataset.
        seed: base seed; sample ``i`` uses ``default_rng([seed, i])``.
        patch_size: ``int`` or ``(h, w)`` of the random patch cut from the clean
            photo before synthesis, or ``None`` for whole photos.
        split: ``'train'`` or ``'heldout'`` photographs of scikit-image (ignored
            with ``clean_dir``).
        clean_dir: use the images in this folder instead of scikit-image's.
        pipeline: transforms after synthesis (no loading step needed), normally
            ending with ``PackRestorationInputs``.
        serialize_data: MMEngine's packing of the sample list into one buffer for
            data-loader workers. Off by default: the list holds one small dict per
            sample, and packing it runs a full garbage collection (about 0.3 s with
            torch loaded) each time a dataset is built.
    """

    def __init__(self,
                 degradation: dict,
                 task: str = '',
                 num_samples: int = 100,
                 seed: int = 0,
                 patch_size: int | Sequence[int] | None = 128,
                 split: str = 'train',
                 clean_dir: str | None = None,
                 pipeline: Sequence[dict | Callable] = (),
                 test_mode: bool = False,
                 serialize_data: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000):
        if int(num_samples) <= 0:
            raise ConfigError(f'SynthesizedPairDataset.num_samples must be > 0, got {num_samples}')
        if isinstance(patch_size, int):
            patch_size = (patch_size, patch_size)
        if patch_size is not None and (len(patch_size) != 2 or min(patch_size) <= 0):
            raise ConfigError(f'SynthesizedPairDataset.patch_size must be a positive int, '
                              f'(h, w) or None, got {patch_size!r}')
        self.task = task
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.patch_size = None if patch_size is None else (int(patch_size[0]),
                                                           int(patch_size[1]))
        self.degradation = build_degradation(degradation)
        self.clean_dir = clean_dir
        if clean_dir is not None:
            if not os.path.isdir(clean_dir):
                raise DataError(f'clean_dir not found: {clean_dir}')
            self.sources = [os.path.join(clean_dir, n)
                            for n in sorted(os.listdir(clean_dir), key=natural_key)
                            if is_image_file(n)]
            if not self.sources:
                raise DataError(f'clean_dir has no images: {clean_dir}')
            self._photos: tuple[np.ndarray, ...] = ()
        else:
            if split not in SKIMAGE_SPLITS:
                raise ConfigError(f'SynthesizedPairDataset.split must be one of '
                                  f'{sorted(SKIMAGE_SPLITS)}, got {split!r}')
            self.sources = list(SKIMAGE_SPLITS[split])
            self._photos = tuple(load_skimage_photo(n) for n in self.sources)
        self.split = split
        super().__init__(ann_file='', metainfo=None, data_root='', data_prefix={},
                         serialize_data=serialize_data, pipeline=build_pipeline(pipeline),
                         test_mode=test_mode, lazy_init=lazy_init, max_refetch=max_refetch)

    def load_data_list(self) -> list[dict]:
        return [{'sample_id': i, 'task': self.task} for i in range(self.num_samples)]

    def clean_image(self, source: int) -> np.ndarray:
        """The clean photograph ``self.sources[source]`` as RGB (uint8 or uint16)."""
        return self._photos[source] if self._photos else read_image(self.sources[source])

    def synthesize(self, sample_id: int) -> dict:
        """The ``img``/``gt``/``mask`` arrays and names of sample ``sample_id``."""
        rng = np.random.default_rng([self.seed, sample_id])
        source = int(rng.integers(len(self.sources)))
        name = os.path.basename(self.sources[source])
        clean = self.clean_image(source)
        if self.patch_size is not None:
            ph, pw = self.patch_size
            h, w = clean.shape[:2]
            if h < ph or w < pw:
                raise DataError(f'clean image {self.sources[source]} is {w}x{h}, smaller than '
                                f'patch_size {pw}x{ph} (WxH)')
            top = int(rng.integers(h - ph + 1))
            left = int(rng.integers(w - pw + 1))
            clean = np.ascontiguousarray(clean[top:top + ph, left:left + pw])
        degraded, mask = self.degradation(clean, rng)
        return {'img': degraded, 'gt': clean, 'mask': mask,
                'img_path': f'{self.task or "synth"}/{name}#{sample_id:06d}',
                'gt_path': self.sources[source], 'key': f'{sample_id:06d}'}

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info.update(self.synthesize(info['sample_id']))
        return info
