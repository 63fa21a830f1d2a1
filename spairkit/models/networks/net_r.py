"""Net_R, the spatially-guided restoration network (SPAIR Sec. 3.2)."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from spairkit.errors import ConfigError
from spairkit.registry import MODELS

from ..backbones.dense_encoder_decoder import DenseEncoderDecoder
from .interface import NetRInterface


@MODELS.register_module()
class NetR(DenseEncoderDecoder, NetRInterface):
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

    Implements the Net_R interface (:mod:`spairkit.models.networks.interface`):
    ``stride`` is ``2**(num_levels-1)``, ``guide_levels`` are the SFM levels and
    ``guide_widths`` the Net_L widths they fuse.
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
        if sfm is not None and guide_channels is not None and len(guide_channels) != num_levels:
            raise ConfigError(
                f'NetR num_levels={num_levels} but guide_channels has {len(guide_channels)} '
                'levels (Net_L\'s, model.netl.num_levels): Net_R fuses Net_L features level '
                'by level through SFM, so both need the same number of levels')
        super().__init__(in_channels=in_channels, out_channels=in_channels,
                         base_channels=base_channels, num_levels=num_levels, growth=growth,
                         num_dense_layers=num_dense_layers, decoder_blocks=decoder_blocks,
                         sfm=sfm, guide_channels=guide_channels, **kwargs)

    @property
    def guide_levels(self) -> tuple[int, ...]:
        return tuple(sorted(int(level) for level in self.sfm))

    @property
    def guide_widths(self) -> tuple[int, ...]:
        return tuple(self.sfm[str(level)].proj.in_channels for level in self.guide_levels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                guides: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        residual, _ = super().forward(x, mask, guides)
        return x + residual
