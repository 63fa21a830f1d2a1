"""The synthesiser contract: a clean image and a seeded RNG in, a degraded image and its mask out.

Every synthesiser registered in ``DEGRADATIONS`` is a :class:`Degradation`. Calling
one with ``(clean, rng)`` returns ``(degraded, mask)``:

* ``clean``: ``HxWx3`` ``uint8`` (or ``uint16``) RGB array, left untouched;
* ``rng``: a :class:`numpy.random.Generator`; it is the only source of randomness, so
  the same seed gives the same pair, bit for bit;
* ``degraded``: same shape and dtype as ``clean``;
* ``mask``: ``HxW`` ``uint8`` in {0, 1}, 1 where the degradation changed the image by
  more than the synthesiser's ``mask_threshold`` (a fraction of the dtype's range,
  measured on ``mask_on``: ``'max'`` = the largest absolute channel difference,
  ``'y'`` = the absolute difference of BT.601 luma), united with the synthesiser's
  physical footprint where it has one (the inside of a raindrop, the umbra of a
  shadow). The threshold rule is the same one the datasets use to derive a mask for
  real pairs without one, so synthetic and real masks mean the same thing.

Subclasses implement :meth:`Degradation.apply` on float32 images in [0, 1]; the base
class validates the input, converts dtypes once, quantises the result and derives the
mask from the quantised output, so "the mask covers what changed" holds exactly on
what the caller receives.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spairkit.errors import ConfigError, DataError
from spairkit.mask_rule import MASK_MODES, MaskRule


def dtype_max(dtype: np.dtype) -> float:
    """The value that stands for 1.0 in an integer image (255 for uint8, 65535 for uint16)."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    raise DataError(f'images must be uint8 or uint16, got dtype {dtype}')


def to_float(image: np.ndarray) -> np.ndarray:
    """An integer image as float32 in [0, 1]."""
    return image.astype(np.float32) / np.float32(dtype_max(image.dtype))


def from_float(image: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A float image in [0, 1] (values outside are clipped) as ``dtype``, rounded."""
    scale = dtype_max(dtype)
    return np.clip(np.rint(image * scale), 0, scale).astype(dtype)


def difference_map(degraded: np.ndarray, clean: np.ndarray, on: str = 'max') -> np.ndarray:
    """``HxW`` float32 absolute difference in [0, 1], per :data:`MASK_MODES`.

    Integer images are normalised by their dtype's range; float images are taken to
    be in [0, 1] already.
    """
    if on not in MASK_MODES:
        raise ConfigError(f"mask_on must be one of {MASK_MODES}, got {on!r}")
    return MaskRule(0.0, on).difference(degraded, clean)  # the one rule (spairkit.mask_rule)


def mask_from_difference(degraded: np.ndarray, clean: np.ndarray, threshold: float,
                         on: str = 'max') -> np.ndarray:
    """``HxW`` uint8 mask: 1 where ``difference_map(degraded, clean, on) > threshold``.

    This is the paper's rule for datasets without a ground-truth mask (Sec. 3.1):
    only distortions above a task-specific threshold count as degraded.
    """
    check_threshold(threshold)
    return MaskRule(threshold, on)(degraded, clean).astype(np.uint8)


def check_threshold(threshold: float, key: str = 'mask_threshold') -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
            or not 0.0 <= float(threshold) < 1.0:
        raise ConfigError(
            f'{key} must be a number in [0, 1) (a fraction of the image range), '
            f'got {threshold!r}')
    return float(threshold)


def check_range(key: str, value: Sequence[float], low: float, high: float,
                integer: bool = False) -> tuple[float, float]:
    """Validate a ``(min, max)`` parameter range of a synthesiser; name the key if wrong."""
    try:
        a, b = value
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        raise ConfigError(f'{key} must be a (min, max) pair, got {value!r}') from None
    if not (low <= a <= b <= high):
        raise ConfigError(f'{key} must satisfy {low} <= min <= max <= {high}, got {value!r}')
    if integer:
        if a != int(a) or b != int(b):
            raise ConfigError(f'{key} must hold integers, got {value!r}')
        return int(a), int(b)
    return a, b


def check_probability(key: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f'{key} must be a probability in [0, 1], got {value!r}')
    return float(value)


def uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def check_clean(clean: np.ndarray) -> None:
    """Reject anything that is not an ``HxWx3`` uint8/uint16 image, naming what it got."""
    if not isinstance(clean, np.ndarray):
        raise DataError(f'clean image must be a numpy array, got {type(clean).__name__}')
    if clean.ndim != 3 or clean.shape[2] != 3 or clean.shape[0] < 1 or clean.shape[1] < 1:
        raise DataError(f'clean image must be HxWx3 RGB, got shape {clean.shape}')
    dtype_max(clean.dtype)


def check_rng(rng: np.random.Generator) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            'synthesisers take a numpy.random.Generator (np.random.default_rng(seed)), '
            f'got {type(rng).__name__}')


class Degradation:
    """Base class of every synthesiser (see the module docstring for the contract).

    Args:
        mask_threshold: fraction of the image range a pixel must change by to be
            marked degraded. Subclasses set a task-appropriate default.
        mask_on: ``'max'`` or ``'y'`` (see :func:`difference_map`).
    """

    default_mask_threshold: float = 0.05
    default_mask_on: str = 'max'

    def __init__(self, mask_threshold: float | None = None, mask_on: str | None = None):
        threshold = self.default_mask_threshold if mask_threshold is None else mask_threshold
        self.mask_threshold = check_threshold(threshold)
        self.mask_on = self.default_mask_on if mask_on is None else mask_on
        if self.mask_on not in MASK_MODES:
            raise ConfigError(f'mask_on must be one of {MASK_MODES}, got {self.mask_on!r}')

    def __call__(self, clean: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        check_clean(clean)
        check_rng(rng)
        degraded_f, footprint = self.apply(to_float(clean), rng)
        if degraded_f.shape != clean.shape:
            raise RuntimeError(
                f'{type(self).__name__}.apply changed the shape {clean.shape} '
                f'to {degraded_f.shape}')
        degraded = from_float(degraded_f, clean.dtype)
        mask = mask_from_difference(degraded, clean, self.mask_threshold, self.mask_on)
        if footprint is not None:
            mask |= (footprint > 0).astype(np.uint8)
        return degraded, mask

    def apply(self, image: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        """Degrade a float32 ``HxWx3`` image in [0, 1].

        Returns the degraded float image (values outside [0, 1] are clipped by the
        caller) and an optional ``HxW`` footprint (non-zero = physically degraded)
        that is added to the difference mask.
        """
        raise NotImplementedError(f'{type(self).__name__} must implement apply()')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mask_threshold={self.mask_threshold}, '
                f'mask_on={self.mask_on!r})')
