"""NAFNet-style blocks and a U-Net of them, with SPAIR's guidance as options.

After Chen et al., "Simple Baselines for Image Restoration" (ECCV 2022), written here
from the paper's description: a block is LayerNorm -> 1x1 conv (x2 channels) ->
3x3 depthwise conv -> SimpleGate (split the channels in two halves and multiply
them) -> simplified channel attention (global average pool -> 1x1 conv -> scale)
-> 1x1 conv, added to the input through a learnt per-channel scale (initialised at
zero, so a fresh block is the identity), then a feed-forward part LayerNorm -> 1x1
conv -> SimpleGate -> 1x1 conv, also scaled and added. There is no nonlinear
activation anywhere: the gate's product is the only nonlinearity. The U-Net: a 3x3
intro conv, per level some blocks and a 2x2 stride-2 conv doubling the width, blocks
at the bottleneck, per finer level a 1x1 conv + PixelShuffle upsampling added to the
skip, blocks, and a 3x3 conv to a residual image.

:class:`NAFNetBackbone` takes SPAIR's modules exactly where the dense encoder-decoder
(:class:`~spairkit.models.DenseEncoderDecoder`) takes them: ``sfm`` at the inputs of
the strided convolutions (the modulated feature is also the level's skip), and
``decoder_blocks`` (SC, SNL, ...) at every decoder level, each called
``block(x, mask_level)`` with the max-pooled mask, through the same per-level config
normalisation. Without them it is a plain NAFNet (:class:`NAFNet`).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmengine.model import BaseModule
from torch import nn

from spairkit.errors import ConfigError
from spairkit.registry import MODELS

from ..blocks.compact import plan_pyramid, run_blocks
from ..networks.interface import NetRInterface
from ..padding import crop_to, mask_pyramid, pad_to_multiple
from .dense_encoder_decoder import _per_level_blocks, blocks_read_mask, build_sfm_blocks


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of an ``N,C,H,W`` map (per pixel), affine per channel."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class SimpleGate(nn.Module):
    """Split the channels into two halves and multiply them (NAFNet's "activation")."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


@MODELS.register_module()
class NAFBlock(nn.Module):
    """NAFNet's block (see module doc); ``forward(x, mask=None)`` ignores the mask.

    Args:
        channels: width in and out.
        dw_expand: channel expansion before the depthwise conv (2 in the paper).
        ffn_expand: expansion of the feed-forward part (2 in the paper).
    """

    def __init__(self, channels: int, dw_expand: int = 2, ffn_expand: int = 2):
        super().__init__()
        dw = channels * dw_expand
        ffn = channels * ffn_expand
        self.norm1 = LayerNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, dw, 1)
        self.dwconv = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.gate = SimpleGate()
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw // 2, dw // 2, 1))
        self.conv2 = nn.Conv2d(dw // 2, channels, 1)
        self.norm2 = LayerNorm2d(channels)
        self.ffn1 = nn.Conv2d(channels, ffn, 1)
        self.ffn2 = nn.Conv2d(ffn // 2, channels, 1)
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        y = self.gate(self.dwconv(self.conv1(self.norm1(x))))
        y = self.conv2(y * self.sca(y))
        x = x + self.beta * y
        z = self.ffn2(self.gate(self.ffn1(self.norm2(x))))
        return x + self.gamma * z


def _blocks(channels: int, count: int) -> nn.Sequential:
    return nn.Sequential(*(NAFBlock(channels) for _ in range(count)))


def _per_level_counts(key: str, value, num_levels: int) -> list[int]:
    counts = [value] * num_levels if isinstance(value, int) else list(value)
    if len(counts) != num_levels or any(not isinstance(c, int) or c < 0 for c in counts):
        raise ConfigError(f'{key} must be an int >= 0 or {num_levels} of them (one per level, '
                          f'finest first), got {value!r}')
    return counts


@MODELS.register_module()
class NAFNetBackbone(BaseModule):
    """A NAFNet U-Net returning ``(residual, encoder_features)``; SPAIR modules optional.

    Level l has ``width * 2**l`` channels at 1/2**l resolution; the coarsest level is
    the bottleneck (its ``enc_blocks`` entry counts NAFNet's "middle" blocks). Any input
    size works (reflect-padded to the stride, cropped back).

    Args:
        in_channels, out_channels: image / output channels.
        width: channels of level 0.
        num_levels: number of resolutions (stride ``2**(num_levels-1)``).
        enc_blocks: NAF blocks per encoder level (int = same at every level), finest
            first; the coarsest entry is the bottleneck.
        dec_blocks: NAF blocks per decoder level (the coarsest entry is unused).
        decoder_blocks: SPAIR blocks after each decoder level's NAF blocks, as in
            :class:`~spairkit.models.DenseEncoderDecoder` (``channels`` filled in).
        sfm: SFM config for the inputs of the strided convs (``channels`` and
            ``guide_channels`` filled in), at ``sfm_levels`` (default all but the
            coarsest); needs ``guide_channels`` (Net_L's feature widths).
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 16,
                 num_levels: int = 3, enc_blocks: int | Sequence[int] = 1,
                 dec_blocks: int | Sequence[int] = 1, decoder_blocks=None,
                 sfm: dict | None = None, sfm_levels: Sequence[int] | None = None,
                 guide_channels: Sequence[int] | None = None, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if num_levels < 1:
            raise ConfigError(f'num_levels must be >= 1, got {num_levels}')
        if width < 1:
            raise ConfigError(f'width must be >= 1, got {width}')
        self.num_levels = num_levels
        self.stride = 2 ** (num_levels - 1)
        chans = [width * 2 ** lv for lv in range(num_levels)]
        self.feature_channels = chans
        enc = _per_level_counts('enc_blocks', enc_blocks, num_levels)
        dec = _per_level_counts('dec_blocks', dec_blocks, num_levels)

        self.intro = nn.Conv2d(in_channels, width, 3, padding=1)
        self.encoders = nn.ModuleList(_blocks(chans[lv], enc[lv]) for lv in range(num_levels))
        self.downs = nn.ModuleList(nn.Conv2d(chans[lv], chans[lv + 1], 2, stride=2)
                                   for lv in range(num_levels - 1))
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[lv + 1], chans[lv] * 4, 1, bias=False),
                          nn.PixelShuffle(2))
            for lv in range(num_levels - 1))
        self.decoders = nn.ModuleList(_blocks(chans[lv], dec[lv])
                                      for lv in range(num_levels - 1))
        self.decoder_blocks = nn.ModuleList(
            nn.ModuleList(MODELS.build(dict(cfg, channels=chans[lv])) for cfg in level_cfgs)
            for lv, level_cfgs in enumerate(_per_level_blocks(decoder_blocks, num_levels)))
        self.ending = nn.Conv2d(width, out_channels, 3, padding=1)

        self.sfm_levels, self.sfm = build_sfm_blocks(sfm, sfm_levels, guide_channels, chans)

    @property
    def uses_guides(self) -> bool:
        """Whether the network fuses guide (Net_L) features through SFM."""
        return len(self.sfm) > 0

    @property
    def guide_levels(self) -> tuple[int, ...]:
        """Net_R interface: the levels whose Net_L feature the SFM blocks fuse."""
        return tuple(sorted(int(level) for level in self.sfm))

    @property
    def guide_widths(self) -> tuple[int, ...]:
        """Net_R interface: the Net_L widths those SFM blocks expect."""
        return tuple(self.sfm[str(level)].proj.in_channels for level in self.guide_levels)

    @property
    def uses_mask(self) -> bool:
        """Whether any block reads the mask (SFM or a decoder block)."""
        return self.uses_guides or blocks_read_mask(self.decoder_blocks)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                guides: Sequence[torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x, size = pad_to_multiple(x, self.stride)
        masks = None
        if mask is not None:
            mask, _ = pad_to_multiple(mask.to(x.dtype), self.stride)
            masks = mask_pyramid(mask, self.num_levels)
        if self.uses_mask and masks is None:
            raise ValueError('this network has mask-guided blocks: forward needs a mask')
        if self.uses_guides and guides is None:
            raise ValueError('this network has SFM blocks: forward needs guides')
        # One compact-path plan per mask level, shared by the level's SFM, SC and SNL.
        plans = plan_pyramid(masks, self.decoder_blocks, [int(lv) for lv in self.sfm])
        feats = []
        y = self.intro(x)
        for lv in range(self.num_levels):
            if lv > 0:
                y = self.downs[lv - 1](y)
            y = self.encoders[lv](y)
            if str(lv) in self.sfm:
                if guides[lv].shape[-2:] != masks[lv].shape[-2:]:
                    raise ValueError(f'guide feature of level {lv} has size '
                                     f'{tuple(guides[lv].shape[-2:])}, expected '
                                     f'{tuple(masks[lv].shape[-2:])}')
                y = self.sfm[str(lv)](y, masks[lv], guides[lv], plans[lv])
            feats.append(y)
        for lv in range(self.num_levels - 1, -1, -1):
            if lv < self.num_levels - 1:
                y = self.decoders[lv](self.ups[lv](y) + feats[lv])
            level_mask = None if masks is None else masks[lv]
            y = run_blocks(self.decoder_blocks[lv], y, level_mask, plans[lv])
        return crop_to(self.ending(y), size), feats


@MODELS.register_module()
class NAFNetR(NAFNetBackbone, NetRInterface):
    """Net_R on NAFNet blocks: ``forward(x, mask, guides)`` returns ``x + residual``.

    The same interface as :class:`~spairkit.models.NetR` (SPAIR fills in
    ``guide_channels`` from its Net_L when ``sfm`` is set and checks ``num_levels``).
    Defaults: an SC and an SNL module at every decoder level, as NetR.
    """

    def __init__(self, in_channels: int = 3, width: int = 16, num_levels: int = 3,
                 enc_blocks: int | Sequence[int] = 1, dec_blocks: int | Sequence[int] = 1,
                 decoder_blocks=None, sfm: dict | None = None,
                 sfm_levels: Sequence[int] | None = None,
                 guide_channels: Sequence[int] | None = None, init_cfg: dict | None = None):
        if decoder_blocks is None:
            decoder_blocks = [dict(type='SparseConvBlock'), dict(type='SparseNonLocal')]
        super().__init__(in_channels=in_channels, out_channels=in_channels, width=width,
                         num_levels=num_levels, enc_blocks=enc_blocks, dec_blocks=dec_blocks,
                         decoder_blocks=decoder_blocks, sfm=sfm, sfm_levels=sfm_levels,
                         guide_channels=guide_channels, init_cfg=init_cfg)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                guides: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        residual, _ = super().forward(x, mask, guides)
        return x + residual


@MODELS.register_module()
class NAFNet(NAFNetR):
    """NAFNet alone (no mask, no guides): a dense baseline Net_R.

    ``forward(x, mask=None, guides=None)`` ignores ``mask`` and ``guides``. With
    ``SPAIR(netr=dict(type='NAFNet'), use_gt_mask=True)`` it trains and evaluates
    without any Net_L (the mask is then only used for the region metrics).
    """

    def __init__(self, in_channels: int = 3, width: int = 16, num_levels: int = 3,
                 enc_blocks: int | Sequence[int] = 1, dec_blocks: int | Sequence[int] = 1,
                 init_cfg: dict | None = None):
        super().__init__(in_channels=in_channels, width=width, num_levels=num_levels,
                         enc_blocks=enc_blocks, dec_blocks=dec_blocks, decoder_blocks=[],
                         init_cfg=init_cfg)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                guides: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        return super().forward(x, None, None)


@MODELS.register_module()
class NAFNetL(NAFNetBackbone):
    """Net_L on NAFNet blocks: ``forward(x)`` returns ``(logits (N,1,H,W), features)``.

    The same contract as :class:`~spairkit.models.NetL` (``feature_channels``, one
    feature per level at the padded size for Net_R's SFM blocks), on the NAFNet U-Net.
    Why: the demo-size dense Net_L sees about 40 pixels at once and barely tells drops,
    blur or shadows from the scene (held-out IoU 0.2-0.47); a NAF block's depthwise 3x3
    conv and the strided downs give a larger receptive field per FLOP, and the
    bottleneck's channel attention sees the whole image.
    """

    def __init__(self, in_channels: int = 3, width: int = 16, num_levels: int = 3,
                 enc_blocks: int | Sequence[int] = 1, dec_blocks: int | Sequence[int] = 1,
                 init_cfg: dict | None = None):
        super().__init__(in_channels=in_channels, out_channels=1, width=width,
                         num_levels=num_levels, enc_blocks=enc_blocks,
                         dec_blocks=dec_blocks, decoder_blocks=[], init_cfg=init_cfg)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                guides: Sequence[torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return super().forward(x, None, None)
