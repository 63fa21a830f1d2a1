"""Named evaluation protocols: how each benchmark's published numbers are computed.

Papers on the same task do not compute "PSNR" the same way: deraining evaluates the
MATLAB Y channel, the raindrop (AGAN) script uses OpenCV's full-range Y on images
cropped to multiples of 4 and scikit-image's default SSIM, shadow removal measures a
Lab error, RealBlur aligns the images first. Each recipe is a frozen
:class:`Protocol` with a name; configs select one by name
(``RestorationMetric(protocol='rain13k_y')``) or spell a new one out as a dict of
:class:`Protocol` fields. Named protocols live in the ``PROTOCOLS`` registry
(:mod:`spairkit.registry`): the built-ins below are registered when this module is
imported (it is the registry's lazy location), and a plugin registers its own with
:func:`register_protocol` (``register_protocol(Protocol('haze_rgb', ...))``), so a
task can name it in ``Task.protocols``. A :class:`Protocol` is frozen; a registered
name cannot be taken twice. Unknown names raise :class:`~spairkit.errors.ConfigError`
listing the registered ones.

Known protocols (details in ``docs/evaluation.md``):

``rain13k_y``
    Rain13K test sets (Rain100H/L, Test100/1200/2800): PSNR/SSIM on MATLAB BT.601
    studio-range Y, no crop, 11x11 Gaussian SSIM.
``agan_y_crop4``
    Raindrop (Qian et al., AGAN): both images cropped (top-left anchored) to multiples
    of 4, OpenCV full-range Y rounded to the image dtype, PSNR, and scikit-image's
    default SSIM (7x7 uniform window, sample covariance).
``istd_lab``
    ISTD shadow removal: Lab mean absolute error (literature: "RMSE") over all, shadow
    and non-shadow pixels after a MATLAB-bicubic resize to 256x256. Needs the mask.
``gopro_rgb``
    GoPro / HIDE deblurring: PSNR/SSIM on RGB, averaged over channels, no crop.
``realblur_aligned``
    RealBlur-J/R: ECC homography alignment of the output to the target, then RGB
    PSNR/SSIM over the overlapping region (:mod:`spairkit.evaluation.alignment`).
"""
from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Union

import cv2
import numpy as np

from spairkit.errors import ConfigError, closest
from spairkit.registry import PROTOCOLS

from .alignment import aligned_psnr_ssim
from .image_metrics import (
    SSIM_WINDOWS,
    check_pair,
    crop_borders,
    masked_psnr,
    masked_ssim,
    rgb_to_y,
)
from .lab_error import lab_error

KINDS = ('psnr_ssim', 'lab_error', 'aligned_psnr_ssim')
COLOURS = ('rgb', 'y_matlab', 'y_opencv')

#: Keys ending in these suffixes are pooled over a dataset instead of averaged.
SUM_SUFFIX, COUNT_SUFFIX = '@sum', '@count'


@dataclass(frozen=True)
class Protocol:
    """One benchmark's evaluation recipe.

    Attributes:
        name: the name configs use.
        kind: ``'psnr_ssim'`` (PSNR/SSIM after crops and colour conversion),
            ``'lab_error'`` (Lab MAE per region; needs the shadow mask) or
            ``'aligned_psnr_ssim'`` (RealBlur's ECC alignment, then RGB PSNR/SSIM).
        colour: for ``psnr_ssim``: ``'rgb'`` (per-channel SSIM averaged),
            ``'y_matlab'`` (BT.601 studio range, unrounded) or ``'y_opencv'``
            (``cv2.COLOR_RGB2YCrCb`` full-range Y, rounded to the image dtype).
        crop_border: pixels removed from every side (after ``multiple_of``).
        multiple_of: crop height and width down to multiples of this, keeping the
            top-left corner (AGAN's ``align_to_four``).
        ssim_window: ``'gaussian11'`` or ``'uniform7'`` (see ``SSIM_WINDOWS``).
        resize: output size ``(h, w)`` of the MATLAB resize for ``lab_error``.
        description: one line for listings and docs.
    """

    name: str
    kind: str = 'psnr_ssim'
    colour: str = 'rgb'
    crop_border: int = 0
    multiple_of: int = 1
    ssim_window: str = 'gaussian11'
    resize: Union[tuple[int, int], None] = None
    description: str = ''

    def __post_init__(self) -> None:
        where = f'evaluation protocol {self.name!r}'
        if self.kind not in KINDS:
            raise ConfigError(f'{where}: kind={self.kind!r} is not one of {list(KINDS)}')
        if self.colour not in COLOURS:
            raise ConfigError(f'{where}: colour={self.colour!r} is not one of {list(COLOURS)}')
        if self.ssim_window not in SSIM_WINDOWS:
            raise ConfigError(f'{where}: ssim_window={self.ssim_window!r} is not one of '
                              f'{sorted(SSIM_WINDOWS)}')
        if not isinstance(self.crop_border, int) or self.crop_border < 0:
            raise ConfigError(f'{where}: crop_border must be an int >= 0, '
                              f'got {self.crop_border!r}')
        if not isinstance(self.multiple_of, int) or self.multiple_of < 1:
            raise ConfigError(f'{where}: multiple_of must be an int >= 1, '
                              f'got {self.multiple_of!r}')
        if self.resize is not None:
            if len(self.resize) != 2 or min(self.resize) < 1:
                raise ConfigError(f'{where}: resize must be (height, width), '
                                  f'got {self.resize!r}')
            object.__setattr__(self, 'resize', tuple(int(v) for v in self.resize))

    @property
    def supports_regions(self) -> bool:
        """Whether degraded/clean region metrics are defined for this protocol.

        Not for ``lab_error`` (it reports shadow/non-shadow regions by construction)
        nor for ``aligned_psnr_ssim`` (alignment moves pixels relative to the mask).
        """
        return self.kind == 'psnr_ssim'

    @property
    def needs_mask(self) -> bool:
        """Whether :meth:`evaluate` needs the reference mask (ISTD's shadow mask)."""
        return self.kind == 'lab_error'

    def prepare(self, img: np.ndarray, ref: np.ndarray, mask: np.ndarray | None = None):
        """Crop and colour-convert a pair for ``psnr_ssim``.

        Returns ``(a, b, mask, peak)``: float64 HxWxC arrays, the mask cropped the
        same way (or ``None``) and the peak value.
        """
        if self.kind != 'psnr_ssim':
            raise ValueError(f'protocol {self.name!r} ({self.kind}) has no prepare step')
        peak = check_pair(img, ref)
        img, ref = np.asarray(img), np.asarray(ref)
        m = self.multiple_of
        h, w = (img.shape[0] // m) * m, (img.shape[1] // m) * m
        if h == 0 or w == 0:
            raise ValueError(f'protocol {self.name!r}: a {img.shape[0]}x{img.shape[1]} image '
                             f'has no full {m}x{m} block')
        img, ref = img[:h, :w], ref[:h, :w]
        img, ref = crop_borders(img, self.crop_border), crop_borders(ref, self.crop_border)
        if mask is not None:
            mask = np.asarray(mask)
            if mask.ndim == 3 and mask.shape[2] == 1:
                mask = mask[..., 0]
            mask = crop_borders(mask[:h, :w].astype(bool), self.crop_border)
        return self._colour(img, peak), self._colour(ref, peak), mask, peak

    def _colour(self, img: np.ndarray, peak: float) -> np.ndarray:
        if img.ndim == 2:
            return img.astype(np.float64)[..., None]
        if self.colour == 'rgb':
            return img.astype(np.float64)
        if img.shape[2] != 3:
            raise ValueError(f'protocol {self.name!r} needs RGB images, got {img.shape[2]} '
                             'channels')
        if self.colour == 'y_matlab':
            return rgb_to_y(img, peak)
        src = img if img.dtype in (np.uint8, np.uint16) else img.astype(np.float32)
        return cv2.cvtColor(src, cv2.COLOR_RGB2YCrCb)[..., :1].astype(np.float64)

    def evaluate(self, img: np.ndarray, ref: np.ndarray,
                 mask: np.ndarray | None = None) -> dict[str, float]:
        """Score one restored image ``img`` against its target ``ref``.

        Returns ``PSNR``/``SSIM`` or, for ``lab_error``, ``Lab_all``/``Lab_shadow``/
        ``Lab_nonshadow`` plus ``@sum``/``@count`` entries for pooled summaries.
        """
        if self.kind == 'lab_error':
            if mask is None:
                raise ValueError(f'protocol {self.name!r} needs the shadow mask of each image')
            return lab_error(img, ref, mask, self.resize)
        if self.kind == 'aligned_psnr_ssim':
            return aligned_psnr_ssim(img, ref)
        a, b, _, peak = self.prepare(img, ref)
        return {'PSNR': masked_psnr(a, b, peak),
                'SSIM': masked_ssim(a, b, peak, window=self.ssim_window)}

    def evaluate_regions(self, img: np.ndarray, ref: np.ndarray,
                         region: np.ndarray) -> dict[str, float]:
        """PSNR/SSIM over degraded (``region`` true) and clean pixels separately."""
        if not self.supports_regions:
            raise ValueError(f'protocol {self.name!r} ({self.kind}) has no region metrics')
        a, b, region, peak = self.prepare(img, ref, region)
        window = self.ssim_window
        return {'PSNR_degraded': masked_psnr(a, b, peak, region),
                'PSNR_clean': masked_psnr(a, b, peak, ~region),
                'SSIM_degraded': masked_ssim(a, b, peak, region, window),
                'SSIM_clean': masked_ssim(a, b, peak, ~region, window)}


def register_protocol(protocol: Protocol, force: bool = False,
                      module: str | None = None) -> Protocol:
    """Register ``protocol`` in ``PROTOCOLS`` under its name and return it.

    The registry holds callables, so the entry is a small factory returning the (frozen)
    protocol; ``spairkit list protocols`` shows ``module`` (default: the caller's) as
    where it came from. A name already registered is an error unless ``force``.
    """
    if not isinstance(protocol, Protocol):
        raise ConfigError(f'register_protocol takes a Protocol, got {type(protocol).__name__}')

    def factory() -> Protocol:
        return protocol

    factory.__name__ = factory.__qualname__ = protocol.name
    factory.__module__ = module or sys._getframe(1).f_globals.get('__name__', __name__)
    factory.__doc__ = protocol.description or f'evaluation protocol {protocol.name!r}'
    try:
        PROTOCOLS.register_module(name=protocol.name, module=factory, force=force)
    except KeyError as exc:
        raise ConfigError(f'evaluation protocol {protocol.name!r} is already registered '
                          f'({PROTOCOLS.sources().get(protocol.name)}); pick another name '
                          'or pass force=True') from exc
    return protocol


BUILTIN_PROTOCOLS = tuple(register_protocol(p, module=__name__) for p in (
    Protocol('rain13k_y', colour='y_matlab',
             description='Rain13K: MATLAB BT.601 Y PSNR/SSIM (Gaussian 11x11), no crop'),
    Protocol('agan_y_crop4', colour='y_opencv', multiple_of=4, ssim_window='uniform7',
             description='Raindrop (AGAN): crop to multiples of 4, OpenCV full-range Y, '
                         'scikit-image default SSIM'),
    Protocol('istd_lab', kind='lab_error', resize=(256, 256),
             description='ISTD: Lab mean absolute error (called RMSE) over all/shadow/'
                         'non-shadow pixels at 256x256'),
    Protocol('gopro_rgb', colour='rgb',
             description='GoPro/HIDE: RGB PSNR/SSIM averaged over channels, no crop'),
    Protocol('realblur_aligned', kind='aligned_psnr_ssim',
             description='RealBlur: ECC homography alignment, RGB PSNR/SSIM over the '
                         'overlapping region'),
))


def protocol_names() -> list[str]:
    """The names of every registered protocol (built-in and plugins'), sorted."""
    PROTOCOLS.import_from_location()
    return sorted(PROTOCOLS.module_dict)


def get_protocol(spec: str | Protocol | Mapping[str, Any]) -> Protocol:
    """A :class:`Protocol` from its name, itself, or a dict of its fields."""
    if isinstance(spec, Protocol):
        return spec
    if isinstance(spec, str):
        # The registry's table only (Registry.get() would import a module of that name).
        PROTOCOLS.import_from_location()
        factory = PROTOCOLS.module_dict.get(spec)
        if factory is None:
            names = protocol_names()
            near = closest(spec, names)
            hint = f'did you mean {", ".join(repr(n) for n in near)}? ' if near else ''
            raise ConfigError(f'unknown evaluation protocol {spec!r} in the PROTOCOLS '
                              f'registry; {hint}registered protocols: {", ".join(names)}')
        protocol = factory()
        if not isinstance(protocol, Protocol):
            raise ConfigError(f'PROTOCOLS entry {spec!r} ({factory!r}) did not return a '
                              'Protocol; register protocols with register_protocol()')
        return protocol
    if isinstance(spec, Mapping):
        allowed = {f.name for f in fields(Protocol)}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ConfigError(f'evaluation protocol {dict(spec)!r}: unknown keys {unknown}; '
                              f'allowed: {sorted(allowed)}')
        if 'name' not in spec:
            raise ConfigError(f'evaluation protocol {dict(spec)!r} needs a name')
        return Protocol(**spec)
    raise ConfigError(f'evaluation protocol must be a name, a Protocol or a dict, got '
                      f'{type(spec).__name__}')


def aggregate_scores(per_image: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Summarise per-image scores over a dataset.

    Every ordinary key is averaged over the images that have a finite-or-infinite
    value for it; ``nan`` (an empty region) is left out of that key's mean, and a key
    that is ``nan`` everywhere stays ``nan``. ``inf`` (an identical image) is kept, so
    the mean PSNR becomes ``inf`` as in BasicSR. A pair ``K@sum``/``K@count`` is
    pooled into ``K_pp = sum of sums / sum of counts`` (per-pixel summary).
    """
    columns: dict[str, list[float]] = {}
    for scores in per_image:
        for key, value in scores.items():
            columns.setdefault(key, []).append(float(value))
    out: dict[str, float] = {}
    for key, values in columns.items():
        if key.endswith(COUNT_SUFFIX):
            continue
        if key.endswith(SUM_SUFFIX):
            base = key[:-len(SUM_SUFFIX)]
            count = sum(columns.get(base + COUNT_SUFFIX, []))
            out[f'{base}_pp'] = sum(values) / count if count else float('nan')
            continue
        kept = [v for v in values if not math.isnan(v)]
        out[key] = float(np.mean(kept)) if kept else float('nan')
    return out
