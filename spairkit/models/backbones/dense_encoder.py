"""The dense encoder of SPAIR's encoder-decoder: one dense block per level."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from spairkit.registry import MODELS

from ..blocks.dense import DenseBlock
from ..blocks.utils import make_activation

#: ``modulate(level, feature) -> feature``, applied to the input of each strided conv.
Modulate = Callable[[int, torch.Tensor], torch.Tensor]


@MODELS.register_module()
class DenseEncoder(nn.Module):
    """Feature pyramid from a 3x3 stem, dense blocks and stride-2 3x3 convolutions.

    Level 0 is full resolution; level l has ``channels[l]`` channels at 1/2**l.
    ``forward(x, modulate)`` returns the feature of every level; ``modulate(l, f)``
    (SFM in Net_R) transforms the feature of level l before it enters the strided
    convolution to level l+1, and the modulated feature is also the level's skip.

    Args:
        in_channels: image channels.
        channels: width of each level (its length is the number of levels).
        growth, num_dense_layers, act: of each level's :class:`DenseBlock`.
    """

    def __init__(self, in_channels: int, channels: Sequence[int], growth: int = 16,
                 num_dense_layers: int = 4, act: str = 'lrelu'):
        super().__init__()
        self.channels = list(channels)
        self.num_levels = len(self.channels)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, self.channels[0], 3, padding=1),
                                  make_activation(act))
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(self.channels[i - 1], self.channels[i], 3, stride=2,
                                    padding=1), make_activation(act))
            for i in range(1, self.num_levels))
        self.blocks = nn.ModuleList(
            DenseBlock(c, growth=growth, num_layers=num_dense_layers, act=act)
            for c in self.channels)

    def forward(self, x: torch.Tensor, modulate: Modulate | None = None) -> list[torch.Tensor]:
        feats = []
        x = self.stem(x)
        for level, block in enumerate(self.blocks):
            if level > 0:
                x = self.down[level - 1](x)
            x = block(x)
            if modulate is not None and level < self.num_levels - 1:
                x = modulate(level, x)
            feats.append(x)
        return feats
