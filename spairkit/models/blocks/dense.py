"""Densely connected convolution blocks: the backbone of Net_L and Net_R.

SPAIR (Sec. 3.1) builds both networks from "a cascade of densely connected layers"
(DenseNet, Huang et al. 2017): each 3x3 conv sees the concatenation of the block input
and every earlier layer's output, and a 1x1 conv fuses them back to the block width.
"""
from __future__ import annotations

import torch
from torch import nn

from spairkit.registry import MODELS

from .utils import make_activation


@MODELS.register_module()
class DenseBlock(nn.Module):
    """Residual dense block: ``x + conv1x1(cat[x, l_1, ..., l_n])``, ``l_i = act(conv3x3(cat))``.

    Input and output have ``channels`` channels, so the block can sit at any level of the
    encoder or decoder. ``mask`` is accepted (and ignored) so that every decoder block
    shares one call signature, ``block(x, mask)``.

    Args:
        channels: input and output width.
        growth: channels each densely connected layer adds.
        num_layers: number of densely connected 3x3 convolutions.
        act: activation name (``'lrelu'``, ``'relu'``, ``'gelu'``).
    """

    #: The block ignores the mask (read by ``backbones.dense_encoder_decoder.blocks_read_mask``).
    reads_mask = False

    def __init__(self, channels: int, growth: int = 16, num_layers: int = 4,
                 act: str = 'lrelu'):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f'DenseBlock num_layers must be >= 1, got {num_layers}')
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels + i * growth, growth, 3, padding=1),
                          make_activation(act))
            for i in range(num_layers))
        self.fuse = nn.Conv2d(channels + num_layers * growth, channels, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        feats = [x]
        for layer in self.layers:
            feats.append(layer(torch.cat(feats, dim=1)))
        return x + self.fuse(torch.cat(feats, dim=1))
