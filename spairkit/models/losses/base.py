"""What every spairkit loss shares: a log name and a weight, both validated once."""
from __future__ import annotations

from torch import nn

from spairkit.errors import ConfigError


class WeightedLoss(nn.Module):
    """Base of the registered losses: ``loss_weight`` scales, ``loss_name`` keys the log.

    ``requires_mask`` tells :class:`~spairkit.models.SPAIR` whether the pixel loss
    needs the ground-truth mask (deriving it costs a pass over the batch).
    """

    requires_mask = False
    default_name = 'loss'

    def __init__(self, loss_weight: float = 1.0, loss_name: str | None = None):
        super().__init__()
        if isinstance(loss_weight, bool) or not isinstance(loss_weight, (int, float)) \
                or loss_weight < 0:
            raise ConfigError(f'{type(self).__name__}.loss_weight must be a number >= 0, '
                              f'got {loss_weight!r}')
        name = self.default_name if loss_name is None else loss_name
        if not isinstance(name, str) or 'loss' not in name:
            raise ConfigError(f"{type(self).__name__}.loss_name must be a string containing "
                              f"'loss' (MMEngine only sums such keys), got {name!r}")
        self.loss_weight = float(loss_weight)
        self.loss_name = name


def check_positive(owner: str, key: str, value, allow_zero: bool = False) -> float:
    """A positive (or non-negative) number, else a :class:`ConfigError` naming the key."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and (
        value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = '>= 0' if allow_zero else '> 0'
        raise ConfigError(f'{owner}.{key} must be a number {bound}, got {value!r}')
    return float(value)
