"""Pipeline transforms for paired restoration samples (registered in TRANSFORMS).

Every transform takes and returns the results dict of ``docs/architecture.md``
(``img``, ``gt``, optional ``mask``, paths, ``task``). Geometric transforms
apply the *same* crop/flip/rotation to every image key, so input, target and
mask stay aligned pixel for pixel.

Random choices use NumPy's global generator on purpose: MMEngine seeds it per
run and per data-loader worker (``default_worker_init_fn``), which is what makes
augmentation reproducible with ``--seed`` and different in each worker.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from spairkit.errors import ConfigError, DataError
from spairkit.mask_rule import MaskRule, as_mask_rule, rule_for
from spairkit.registry import TRANSFORMS

from .image_io import load_pair

#: Keys that hold spatial arrays and move together under geometric transforms.
SPATIAL_KEYS = ('img', 'gt', 'mask')

_MORPH_OPS = {'dilate': cv2.MORPH_DILATE, 'erode': cv2.MORPH_ERODE,
              'open': cv2.MORPH_OPEN, 'close': cv2.MORPH_CLOSE}


def _spatial_keys(results: dict) -> list[str]:
    return [k for k in SPATIAL_KEYS if results.get(k) is not None]


def _pair_size(value: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(value, int):
        value = (value, value)
    if len(value) != 2 or any(int(v) <= 0 for v in value):
        raise ConfigError(f'{name} must be a positive int or (height, width), got {value!r}')
    return int(value[0]), int(value[1])


def max_value_of(img: np.ndarray) -> int:
    """The white level of ``img``: 255 for 8-bit, 65535 for 16-bit."""
    return int(np.iinfo(img.dtype).max)


@TRANSFORMS.register_module()
class LoadPairFromFile:
    """Read ``img_path``/``gt_path`` (and ``mask_path`` if set) into RGB arrays.

    Args:
        alpha: ``'drop'`` (default) discards a 4th channel, ``'error'`` rejects it.

    Raises:
        DataError: a file is missing, empty or corrupt, or the sizes disagree;
            the message names the file(s).
    """

    def __init__(self, alpha: str = 'drop'):
        if alpha not in ('drop', 'error'):
            raise ConfigError(f"LoadPairFromFile.alpha must be 'drop' or 'error', got {alpha!r}")
        self.alpha = alpha

    def __call__(self, results: dict) -> dict:
        img, gt, mask = load_pair(results['img_path'], results['gt_path'],
                                  results.get('mask_path'), alpha=self.alpha)
        results['img'], results['gt'] = img, gt
        if mask is not None:
            results['mask'] = mask
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(alpha={self.alpha!r})'


@TRANSFORMS.register_module()
class DeriveMask:
    """The paper's mask for datasets without one: the task's mask rule on ``img`` vs ``gt``.

    The rule is :class:`spairkit.mask_rule.MaskRule`, the one the synthesisers, SPAIR
    and the metrics use. By default it is the rule of the sample's task (the
    ``task`` of its dataset, :attr:`Task.mask_threshold <spairkit.tasks.Task>` and
    ``mask_on``), so a config does not repeat the task's numbers.

    Args:
        threshold: override the task's threshold (fraction of the white level, 0.1 =
            25.5 grey levels on 8-bit); give it together with ``on``.
        on: ``'max'`` (largest per-channel difference) or ``'y'`` (BT.601 luma).
        morphology: ``None`` or ``dict(op='dilate'|'erode'|'open'|'close',
            kernel=3, iterations=1)`` applied to the binary mask.
        overwrite: if False (default) a ground-truth mask already in the results
            (e.g. ISTD's) is kept and only missing masks are derived.
    """

    def __init__(self, threshold: float | None = None, on: str | None = None,
                 morphology: dict | None = None, overwrite: bool = False):
        if (threshold is None) != (on is None):
            raise ConfigError('DeriveMask: give threshold and on together (an explicit rule), '
                              f"or neither (the task's rule); got threshold={threshold!r}, "
                              f'on={on!r}')
        self.rule = None if threshold is None else as_mask_rule(
            dict(threshold=threshold, on=on), 'DeriveMask')
        self.overwrite = overwrite
        self.morphology = None
        if morphology is not None:
            morph = dict(morphology)
            op = morph.pop('op', 'dilate')
            kernel = morph.pop('kernel', 3)
            iterations = morph.pop('iterations', 1)
            if morph or op not in _MORPH_OPS or int(kernel) < 1 or int(iterations) < 1:
                raise ConfigError(
                    f'DeriveMask.morphology must be dict(op={sorted(_MORPH_OPS)}, kernel>=1, '
                    f'iterations>=1), got {morphology!r}')
            self.morphology = (op, int(kernel), int(iterations))

    def rule_for(self, task: str | None) -> MaskRule:
        """The configured rule, or the one of ``task``."""
        return rule_for(self.rule, task, 'DeriveMask')

    def derive(self, img: np.ndarray, gt: np.ndarray, task: str | None = None) -> np.ndarray:
        """The ``HxW`` uint8 {0, 1} mask of ``img`` against ``gt`` (float, so uint8 cannot wrap)."""
        mask = self.rule_for(task)(img, gt).astype(np.uint8)
        if self.morphology is not None:
            op, kernel, iterations = self.morphology
            element = cv2.getStructuringElement(cv2.MORPH_RECT, (kernel, kernel))
            mask = cv2.morphologyEx(mask, _MORPH_OPS[op], element, iterations=iterations)
        return mask

    def __call__(self, results: dict) -> dict:
        if results.get('mask') is None or self.overwrite:
            results['mask'] = self.derive(results['img'], results['gt'], results.get('task'))
        return results

    def __repr__(self) -> str:
        rule = "the task's" if self.rule is None else repr(self.rule)
        return (f'{type(self).__name__}(rule={rule}, morphology={self.morphology}, '
                f'overwrite={self.overwrite})')


@TRANSFORMS.register_module()
class PairedRandomCrop:
    """Crop the same random ``size`` window from input, target and mask.

    Args:
        size: ``int`` or ``(height, width)``.
        pad: if False (default) an image smaller than ``size`` is a
            :class:`DataError` naming it (and ``check_files`` catches it at build
            time through :attr:`min_input_size`); if True it is padded first.
        pad_mode: NumPy pad mode for ``pad=True`` (default ``'reflect'``).
    """

    def __init__(self, size: int | Sequence[int], pad: bool = False, pad_mode: str = 'reflect'):
        self.size = _pair_size(size, 'PairedRandomCrop.size')
        self.pad = pad
        self.pad_mode = pad_mode

    @property
    def min_input_size(self) -> tuple[int, int] | None:
        """The smallest image this crop accepts (``None`` when it pads)."""
        return None if self.pad else self.size

    def __call__(self, results: dict) -> dict:
        ch, cw = self.size
        h, w = results['img'].shape[:2]
        if h < ch or w < cw:
            if not self.pad:
                raise DataError(
                    f'image {results.get("img_path", "<in memory>")} is {w}x{h}, smaller than '
                    f'the crop {cw}x{ch} (WxH); lower the crop size or set pad=True')
            ph, pw = max(ch - h, 0), max(cw - w, 0)
            for key in _spatial_keys(results):
                arr = results[key]
                widths = ((0, ph), (0, pw)) + ((0, 0),) * (arr.ndim - 2)
                results[key] = np.pad(arr, widths, mode=self.pad_mode)
            h, w = results['img'].shape[:2]
        top = np.random.randint(0, h - ch + 1)
        left = np.random.randint(0, w - cw + 1)
        for key in _spatial_keys(results):
            results[key] = np.ascontiguousarray(results[key][top:top + ch, left:left + cw])
        results['crop_box'] = (top, left, ch, cw)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, pad={self.pad})'


@TRANSFORMS.register_module()
class PairedFlip:
    """Flip input, target and mask together, horizontally and/or vertically.

    Args:
        horizontal: probability of a left-right flip.
        vertical: probability of an up-down flip (drawn independently).
    """

    def __init__(self, horizontal: float = 0.5, vertical: float = 0.0):
        for name, p in (('horizontal', horizontal), ('vertical', vertical)):
            if not 0.0 <= p <= 1.0:
                raise ConfigError(f'PairedFlip.{name} must be a probability, got {p!r}')
        self.horizontal = horizontal
        self.vertical = vertical

    def __call__(self, results: dict) -> dict:
        flip_h = np.random.rand() < self.horizontal
        flip_v = np.random.rand() < self.vertical
        for key in _spatial_keys(results):
            arr = results[key]
            if flip_h:
                arr = arr[:, ::-1]
            if flip_v:
                arr = arr[::-1]
            results[key] = np.ascontiguousarray(arr)
        results['flip'] = (bool(flip_h), bool(flip_v))
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(horizontal={self.horizontal}, vertical={self.vertical})'


@TRANSFORMS.register_module()
class PairedRandomRotate90:
    """Rotate input, target and mask together by a random multiple of 90 degrees.

    Non-square images are only rotated by 180 degrees, so that every sample of
    a batch keeps the crop's ``(H, W)`` and can be stacked.

    Args:
        prob: probability of rotating at all.
    """

    def __init__(self, prob: float = 0.5):
        if not 0.0 <= prob <= 1.0:
            raise ConfigError(f'PairedRandomRotate90.prob must be a probability, got {prob!r}')
        self.prob = prob

    def __call__(self, results: dict) -> dict:
        k = 0
        if np.random.rand() < self.prob:
            h, w = results['img'].shape[:2]
            k = int(np.random.randint(1, 4)) if h == w else 2
        for key in _spatial_keys(results):
            results[key] = np.ascontiguousarray(np.rot90(results[key], k, axes=(0, 1)))
        results['rot90'] = k
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class PackRestorationInputs:
    """Pack arrays into the sample of ``docs/architecture.md``.

    ``inputs`` and ``gt`` keep their integer type (uint8/uint16); the data
    preprocessor converts to float on the device, which keeps worker-to-main
    transfers four times smaller.

    Args:
        meta_keys: results keys copied into ``metainfo`` when present.
    """

    def __init__(self, meta_keys: Sequence[str] = ('img_path', 'gt_path', 'mask_path', 'task',
                                                   'key')):
        self.meta_keys = tuple(meta_keys)

    @staticmethod
    def _to_chw(arr: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))

    def __call__(self, results: dict) -> dict:
        img = results['img']
        samples: dict = {}
        if results.get('gt') is not None:
            samples['gt'] = self._to_chw(results['gt'])
        if results.get('mask') is not None:
            samples['mask'] = torch.from_numpy(
                np.ascontiguousarray(results['mask'], dtype=np.float32))[None]
        meta = {k: results[k] for k in self.meta_keys if results.get(k) is not None}
        meta.setdefault('task', '')
        # The shape of what is packed (after any crop): the model's output size.
        meta['ori_shape'] = (int(img.shape[0]), int(img.shape[1]))
        meta['max_value'] = max_value_of(img)
        samples['metainfo'] = meta
        return {'inputs': self._to_chw(img), 'data_samples': samples}

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
