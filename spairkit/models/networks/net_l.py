"""Net_L, the distortion-localization network (SPAIR Sec. 3.1)."""
from __future__ import annotations

import torch

from spairkit.registry import MODELS

from ..backbones.dense_encoder_decoder import DenseEncoderDecoder


@MODELS.register_module()
class NetL(DenseEncoderDecoder):
    """A lightweight dense encoder-decoder ending in one logit channel.

    ``forward(x)`` returns ``(logits (N,1,H,W), features)``: ``sigmoid(logits)`` is the
    probability that a pixel is degraded, and ``features`` (one per level, at the
    padded size, widths ``feature_channels``) are what Net_R's SFM blocks fuse.
    Decoder blocks default to one dense block per level; the mask arguments of the base
    class are not used (Net_L is what produces the mask).
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 16, num_levels: int = 3,
                 growth: int = 8, num_dense_layers: int = 3, decoder_blocks=None,
                 **kwargs):
        if decoder_blocks is None:
            decoder_blocks = [dict(type='DenseBlock', growth=growth,
                                   num_layers=num_dense_layers)]
        for key in ('out_channels', 'sfm', 'guide_channels'):
            if key in kwargs:
                raise TypeError(f'NetL does not take {key!r}')
        super().__init__(in_channels=in_channels, out_channels=1, base_channels=base_channels,
                         num_levels=num_levels, growth=growth,
                         num_dense_layers=num_dense_layers, decoder_blocks=decoder_blocks,
                         **kwargs)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                guides=None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return super().forward(x)
