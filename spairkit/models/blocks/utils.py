"""Small helpers shared by the blocks (activation by name, level-mask checks)."""
from __future__ import annotations

from torch import nn

_ACTIVATIONS = {
    'relu': lambda: nn.ReLU(inplace=False),
    'lrelu': lambda: nn.LeakyReLU(0.2, inplace=False),
    'gelu': lambda: nn.GELU(),
}


def make_activation(name: str) -> nn.Module:
    """The activation called ``name``; a config typo names the accepted values.

    Sparse blocks rely on ``act(0) == 0`` (it keeps clean pixels at exactly zero), which
    every activation offered here satisfies.
    """
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {sorted(_ACTIVATIONS)}") from None
