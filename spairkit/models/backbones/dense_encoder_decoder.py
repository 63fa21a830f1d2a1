"""The densely connected U-Net shared by Net_L and Net_R (SPAIR Sec. 3.1)."""
from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from mmengine.model import BaseModule
from torch import nn

from spairkit.errors import ConfigError
from spairkit.registry import MODELS

from ..blocks.compact import plan_pyramid, run_blocks
from ..blocks.utils import make_activation
from ..padding import crop_to, mask_pyramid, pad_to_multiple
from .dense_encoder import DenseEncoder


def _per_level_blocks(decoder_blocks, num_levels: int) -> list[list[dict]]:
    """Normalise ``decoder_blocks`` to one list of block configs per level (0 = finest).

    Accepted forms: a list of dicts (the same blocks at every level) or a list of
    ``num_levels`` lists of dicts (per level, finest first; ``[]`` for no block).
    """
    if decoder_blocks is None:
        return [[] for _ in range(num_levels)]
    blocks = list(decoder_blocks)
    if all(isinstance(b, dict) for b in blocks):
        return [copy.deepcopy(blocks) for _ in range(num_levels)]
    if all(isinstance(b, (list, tuple)) for b in blocks):
        if len(blocks) != num_levels:
            raise ConfigError(
                f'decoder_blocks has {len(blocks)} per-level lists but the network has '
                f'num_levels={num_levels} (list them finest level first)')
        for level, lst in enumerate(blocks):
            if not all(isinstance(b, dict) for b in lst):
                raise ConfigError(f'decoder_blocks[{level}] must be a list of block dicts, '
                                  f'got {lst!r}')
        return [copy.deepcopy(list(b)) for b in blocks]
    raise ConfigError('decoder_blocks must be a list of block dicts (same at every level) '
                      f'or a list of per-level lists of block dicts, got {decoder_blocks!r}')


def blocks_read_mask(decoder_blocks: nn.ModuleList) -> bool:
    """Whether any decoder block reads its mask: a block says it does not with a
    ``reads_mask = False`` class attribute (e.g. DenseBlock); otherwise it is assumed to."""
    return any(getattr(block, 'reads_mask', True)
               for level in decoder_blocks for block in level)


def build_sfm_blocks(sfm: dict | None, sfm_levels: Sequence[int] | None,
                     guide_channels: Sequence[int] | None, chans: Sequence[int]
                     ) -> tuple[list[int], nn.ModuleDict]:
    """The SFM blocks at the inputs of the strided convolutions, keyed by level.

    Shared by every backbone that takes ``sfm``: ``sfm_levels`` defaults to all but the
    coarsest level (each has a strided convolution after it); ``guide_channels`` are
    Net_L's widths, one per level. Returns the levels and the (possibly empty) blocks.
    """
    num_levels = len(chans)
    levels = (list(range(num_levels - 1)) if sfm_levels is None
              else sorted(set(sfm_levels)))
    if any(not 0 <= lv < num_levels - 1 for lv in levels):
        raise ConfigError(f'sfm_levels={list(levels)} must lie in '
                          f'0..{num_levels - 2} (levels with a strided convolution)')
    blocks = nn.ModuleDict()
    if sfm is not None:
        if guide_channels is None or len(guide_channels) != num_levels:
            raise ConfigError(f'sfm needs guide_channels for each of the {num_levels} '
                              f'levels (the Net_L feature widths), got {guide_channels}')
        for lv in levels:
            blocks[str(lv)] = MODELS.build(
                dict(sfm, channels=chans[lv], guide_channels=guide_channels[lv]))
    return levels, blocks


@MODELS.register_module()
class DenseEncoderDecoder(BaseModule):
    """Dense encoder-decoder (U-Net topology) whose blocks and SFM placement are config.

    Encoder: :class:`DenseEncoder` (or any registered encoder with the same interface,
    e.g. :class:`TimmEncoder`, via ``encoder=dict(type=...)``). Decoder, coarsest level
    first: at the bottleneck start from the encoder feature; at every finer level
    upsample by a 2x2 transposed conv, concatenate the skip and fuse with a 3x3 conv;
    then run the level's ``decoder_blocks`` (each called ``block(x, mask_level)``). A
    3x3 head maps level 0 to ``out_channels``.

    ``sfm`` (a block config such as ``dict(type='SFM')``) is placed at the inputs of the
    strided convolutions of the encoder, at ``sfm_levels`` (default: every level but the
    coarsest), fusing the guide feature (Net_L's) of the same level.

    The input may have any size: it is reflect-padded to a multiple of the stride
    ``2**(num_levels-1)`` and the output cropped back. ``forward`` returns
    ``(output, encoder_features)``; the features are at the padded size.

    Args:
        in_channels, out_channels: image / output channels.
        base_channels: width of level 0 of the dense encoder.
        num_levels: number of resolutions (stride ``2**(num_levels-1)``).
        channel_mults: width of level l is ``base_channels * channel_mults[l]``
            (default ``2**l``).
        growth, num_dense_layers: of the dense blocks of the dense encoder.
        encoder: config of another encoder (``num_levels``/``in_channels`` filled in).
        decoder_blocks: see :func:`_per_level_blocks`; ``channels`` is filled in.
        sfm: SFM block config or None; ``channels``/``guide_channels`` filled in.
        sfm_levels: levels whose strided-conv input gets an SFM.
        guide_channels: width of the guide feature per level (Net_L's
            ``feature_channels``); needed with ``sfm``.
        act: activation.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, base_channels: int = 32,
                 num_levels: int = 3, channel_mults: Sequence[int] | None = None,
                 growth: int = 16, num_dense_layers: int = 4, encoder: dict | None = None,
                 decoder_blocks=None, sfm: dict | None = None,
                 sfm_levels: Sequence[int] | None = None,
                 guide_channels: Sequence[int] | None = None, act: str = 'lrelu',
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if num_levels < 1:
            raise ConfigError(f'num_levels must be >= 1, got {num_levels}')
        self.num_levels = num_levels
        self.stride = 2 ** (num_levels - 1)
        if encoder is None:
            mults = list(channel_mults) if channel_mults is not None else [
                2 ** i for i in range(num_levels)]
            if len(mults) != num_levels:
                raise ConfigError(f'channel_mults={mults} must have num_levels={num_levels} '
                                  'entries')
            self.encoder = DenseEncoder(in_channels, [base_channels * m for m in mults],
                                        growth=growth, num_dense_layers=num_dense_layers,
                                        act=act)
        else:
            enc_cfg = dict(encoder, num_levels=num_levels, in_channels=in_channels)
            self.encoder = MODELS.build(enc_cfg)
        chans = list(self.encoder.channels)
        if len(chans) != num_levels:
            raise ConfigError(f'encoder {type(self.encoder).__name__} has {len(chans)} '
                              f'levels, the network num_levels={num_levels}')
        self.feature_channels = chans

        self.sfm_levels, self.sfm = build_sfm_blocks(sfm, sfm_levels, guide_channels, chans)

        self.up = nn.ModuleList(
            nn.ConvTranspose2d(chans[lv + 1], chans[lv], 2, stride=2)
            for lv in range(num_levels - 1))
        self.fuse = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 * chans[lv], chans[lv], 3, padding=1),
                          make_activation(act))
            for lv in range(num_levels - 1))
        self.decoder_blocks = nn.ModuleList(
            nn.ModuleList(MODELS.build(dict(cfg, channels=chans[lv])) for cfg in level_cfgs)
            for lv, level_cfgs in enumerate(_per_level_blocks(decoder_blocks, num_levels)))
        self.head = nn.Conv2d(chans[0], out_channels, 3, padding=1)

    @property
    def uses_guides(self) -> bool:
        """Whether the network fuses guide (Net_L) features through SFM."""
        return len(self.sfm) > 0

    @property
    def uses_mask(self) -> bool:
        """Whether any block reads the mask (SFM or a mask-guided decoder block)."""
        return self.uses_guides or blocks_read_mask(self.decoder_blocks)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                guides: Sequence[torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x, size = pad_to_multiple(x, self.stride)
        masks = None
        if mask is not None:
            mask, _ = pad_to_multiple(mask.to(x.dtype), self.stride)
            masks = mask_pyramid(mask, self.num_levels)
        modulate = None
        if self.uses_guides:
            if masks is None or guides is None:
                raise ValueError('this network has SFM blocks: forward needs mask and guides')
            for lv in self.sfm_levels:
                if guides[lv].shape[-2:] != masks[lv].shape[-2:]:
                    raise ValueError(f'guide feature of level {lv} has size '
                                     f'{tuple(guides[lv].shape[-2:])}, expected '
                                     f'{tuple(masks[lv].shape[-2:])}')

            def modulate(level: int, feat: torch.Tensor) -> torch.Tensor:
                key = str(level)
                if key not in self.sfm:
                    return feat
                return self.sfm[key](feat, masks[level], guides[level], plans[level])

        # One compact-path plan per mask level, shared by the level's SFM, SC and SNL.
        plans = plan_pyramid(masks, self.decoder_blocks, [int(lv) for lv in self.sfm])
        feats = self.encoder(x, modulate)
        y = feats[-1]
        for lv in range(self.num_levels - 1, -1, -1):
            if lv < self.num_levels - 1:
                y = self.fuse[lv](torch.cat([self.up[lv](y), feats[lv]], dim=1))
            level_mask = None if masks is None else masks[lv]
            y = run_blocks(self.decoder_blocks[lv], y, level_mask, plans[lv])
        return crop_to(self.head(y), size), feats
