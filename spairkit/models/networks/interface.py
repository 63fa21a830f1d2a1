"""The Net_R interface: everything SPAIR needs from a restoration network.

SPAIR builds ``model.netr`` from ``MODELS`` and then talks to it only through this
contract, so any registered network that follows it can replace :class:`NetR`
(``NAFNetR``, a timm-encoder NetR, a user's own) without SPAIR knowing its config keys.

Construction
    A Net_R that fuses Net_L features (SFM) declares a constructor argument
    ``guide_channels``: SPAIR passes Net_L's feature width per level, finest first
    (``netl.feature_channels``), unless the config sets it. A network without that
    argument gets nothing. SPAIR reads no other key of the Net_R config.

After construction (attributes of the built module)
    ``stride``
        ``int``: the input sides the network works on are multiples of it (it pads
        and crops back by itself; tiling and padding code read it).
    ``guide_levels``
        ``tuple[int, ...]``: the Net_L feature levels (0 = full resolution) that
        ``forward`` reads; ``()`` for a network without guides.
    ``guide_widths``
        ``tuple[int, ...]``: the channels it expects at each of ``guide_levels``.
    ``uses_mask`` (optional, default ``True``)
        ``bool``: whether ``forward`` reads ``mask``; a network that does not (a dense
        baseline) can run in a SPAIR without Net_L (``with_netl=False``).

Forward
    ``forward(x, mask, guides) -> restored``: ``x`` (N,C,H,W) in [0, 1], ``mask``
    (N,1,H,W) binary at full resolution (the network max-pools it per level),
    ``guides`` Net_L's per-level features (finest first) or ``None`` when
    ``guide_levels`` is empty. The output has the size of ``x`` (unclamped).

:class:`NetRInterface` is the base class that spells this out (defaults: no guides,
stride 1); :func:`build_netr` builds a config the way SPAIR does and
:func:`check_netr` checks a built module against Net_L's widths, with errors that name
the network and what it lacks.
"""
from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence

from torch import nn

from spairkit.errors import ConfigError
from spairkit.registry import MODELS

#: The constructor argument through which a Net_R receives Net_L's feature widths.
GUIDE_ARGUMENT = 'guide_channels'
#: Attributes every built Net_R exposes (see the module docstring).
REQUIRED_ATTRIBUTES = ('stride', 'guide_levels', 'guide_widths')


class NetRInterface:
    """Base of the Net_R contract (mix it into an ``nn.Module``).

    Subclasses that read Net_L guides override :attr:`guide_levels` and
    :attr:`guide_widths`, and take ``guide_channels`` in their constructor.
    """

    #: Multiple of the input sides the network works on (it pads by itself).
    stride: int = 1

    @property
    def guide_levels(self) -> tuple[int, ...]:
        """Net_L feature levels ``forward`` reads (finest = 0); none by default."""
        return ()

    @property
    def guide_widths(self) -> tuple[int, ...]:
        """Channels expected at each of :attr:`guide_levels`."""
        return ()

    @property
    def uses_mask(self) -> bool:
        """Whether ``forward`` reads ``mask`` (conservatively yes unless overridden)."""
        return True


def accepts_guide_widths(cls: type) -> bool:
    """Whether ``cls`` declares the ``guide_channels`` constructor argument."""
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False
    return GUIDE_ARGUMENT in parameters


def build_netr(cfg: dict, guide_widths: Sequence[int], where: str = 'model.netr') -> nn.Module:
    """Build a Net_R config, handing it Net_L's ``guide_widths`` if it takes them."""
    cfg = copy.deepcopy(dict(cfg))
    kind = cfg.get('type')
    cls = kind if isinstance(kind, type) else MODELS.get(kind) if isinstance(kind, str) else None
    default_args = None
    if cls is not None and accepts_guide_widths(cls):
        if cfg.get(GUIDE_ARGUMENT) is None:  # unset or None: Net_L's widths
            cfg.pop(GUIDE_ARGUMENT, None)
        default_args = {GUIDE_ARGUMENT: list(guide_widths)}
    netr = MODELS.build(cfg, default_args=default_args)
    check_netr(netr, guide_widths, where)
    return netr


def check_netr(netr: nn.Module, guide_widths: Sequence[int], where: str = 'model.netr') -> None:
    """Check that ``netr`` follows the interface and fits Net_L's ``guide_widths``."""
    name = type(netr).__name__
    missing = [a for a in REQUIRED_ATTRIBUTES if not hasattr(netr, a)]
    if missing:
        raise ConfigError(f'{where} ({name}) does not implement the Net_R interface: it lacks '
                          f'{missing} (see spairkit.models.networks.interface)')
    stride = netr.stride
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ConfigError(f'{where} ({name}).stride must be a positive int, got {stride!r}')
    levels, widths = tuple(netr.guide_levels), tuple(netr.guide_widths)
    if len(levels) != len(widths):
        raise ConfigError(f'{where} ({name}): guide_levels {levels} and guide_widths {widths} '
                          'differ in length')
    available = len(guide_widths)
    for level, width in zip(levels, widths):
        if not 0 <= level < available:
            raise ConfigError(
                f'{where} ({name}) reads the Net_L guide of level {level}, but Net_L has '
                f'{available} levels (model.netl.num_levels): Net_R fuses Net_L features '
                'level by level, so both need the same number of levels')
        if width != guide_widths[level]:
            raise ConfigError(
                f'{where} ({name}) expects {width} guide channels at level {level}, Net_L '
                f'gives {guide_widths[level]} (leave {where}.{GUIDE_ARGUMENT} unset: SPAIR '
                "fills in Net_L's widths)")
