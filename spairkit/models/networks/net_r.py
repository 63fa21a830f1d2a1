"""Net_R, the spatially-guided restoration network (SPAIR Sec. 3.2)."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from spairkit.registry import MODELS

from ..backbones.dense_encoder_decoder import DenseEncoderDecoder


@MODELS.register_module()
class NetR(DenseEncoderDecoder):
    """Dense encoder-decoder predicting a residual that is added to the input image.

    ``forward(x, mask, guides)`` returns ``x + residual`` (unclamped; SPAIR clamps to
    [0, 1] only at predict time). ``mask`` is the binary full-resolution mask
    (N,1,H,W), max-pooled to every level for the decoder blocks (SC, SNL, ...), and
    ``guides`` are Net_L's per-level features for the SFM blocks.

    Defaults are SPAIR's decoder at a CPU-friendly size: an SC and an SNL module at
    every decoder level. SFM is added with ``sfm=dict(type='SFM')``; it needs Net_L's
    feature widths as ``guide_channels``, which :class:`SPAIR` fills in from its Net_L.
    The Table 6 variants differ only in ``decoder_blocks`` and ``sfm`` (see
    configs/_base_/models).
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 32, num_levels: int = 3,
                 growth: int = 16, num_dense_layers: int = 4, decoder_blocks=None,
                 sfm: dict | None = None, guide_channels: Sequence[int] | None = None,
                 **kwargs):
        if decoder_blocks is None:
            decoder_blocks = [dict(type='SparseConvBlock', growth=growth),
                              dict(type='SparseNonLocal')]
        if 'out_channels' in kwargs:
            raise TypeError("NetR does not take 'out_channels' (it restores the input image)")
        super().__init__(in_channels=in_channels, out_channels=in_channels,
                         base_channels=base_channels, num_levels=num_levels, growth=growth,
                         num_dense_layers=num_dense_layers, decoder_blocks=decoder_blocks,
                         sfm=sfm, guide_channels=guide_channels, **kwargs)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                guides: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        residual, _ = super().forward(x, mask, guides)
        return x + residual
