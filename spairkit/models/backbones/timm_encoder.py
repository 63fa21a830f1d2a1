"""A timm model as the encoder of Net_R or Net_L (``features_only``, no pretrained weights)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from spairkit.errors import ConfigError
from spairkit.registry import MODELS

from ..blocks.utils import make_activation
from .dense_encoder import Modulate


@MODELS.register_module()
class TimmEncoder(nn.Module):
    """Level 0 from a full-resolution 3x3 stem, levels 1.. from a timm feature extractor.

    ``timm.create_model(model_name, features_only=True, pretrained=False)`` supplies the
    coarser levels: its feature ``out_indices[i]`` must have reduction ``2**(i+1)`` (the
    decoder upsamples by 2 per level), which is checked when the encoder is built. The
    full-resolution level is a small conv stem, because timm backbones start at stride
    2 and the decoder needs a full-resolution skip. Because the timm stages are opaque,
    ``modulate`` (SFM) is applied to each level's output feature (levels below the
    coarsest), which is then the skip and what the decoder sees.

    It is an encoder, not a Net_R: ``NetR(encoder=dict(type='TimmEncoder', ...))`` (the
    packaged ``spair_timm`` model, ``examples/custom_netr``) is the Net_R, and follows
    the Net_R interface (:mod:`spairkit.models.networks.interface`) as any NetR does:
    its ``guide_levels`` are the SFM levels, fused on this encoder's level outputs.

    Args:
        model_name: any timm model supporting ``features_only``.
        num_levels: levels including the full-resolution stem level.
        in_channels: image channels.
        stem_channels: width of the full-resolution level.
        out_indices: timm feature indices for levels 1..num_levels-1
            (default ``0 .. num_levels-2``).
        feature_cls: timm's feature wrapper. The default ``'getter'`` prunes the layers
            after the last used feature; the classic wrappers of some families
            (MobileNet, EfficientNet) keep computing them, which leaves parameters
            without gradients and breaks DDP. ``None`` selects timm's default wrapper.
        act: activation of the stem.
        model_kwargs: extra keyword arguments for ``timm.create_model``.
    """

    def __init__(self, model_name: str, num_levels: int = 3, in_channels: int = 3,
                 stem_channels: int = 16, out_indices: Sequence[int] | None = None,
                 feature_cls: str | None = 'getter', act: str = 'lrelu',
                 model_kwargs: dict | None = None):
        super().__init__()
        import timm  # imported here: building any other model must not need timm loaded

        if num_levels < 2:
            raise ConfigError(f'TimmEncoder needs num_levels >= 2, got {num_levels}')
        indices = tuple(out_indices) if out_indices is not None else tuple(
            range(num_levels - 1))
        if len(indices) != num_levels - 1:
            raise ConfigError(f'TimmEncoder out_indices={list(indices)} must name '
                              f'num_levels - 1 = {num_levels - 1} timm features')
        kwargs = dict(model_kwargs or {})
        if feature_cls is not None:
            kwargs['feature_cls'] = feature_cls
        try:
            self.timm_model = timm.create_model(
                model_name, features_only=True, pretrained=False, out_indices=indices,
                in_chans=in_channels, **kwargs)
        except (RuntimeError, AttributeError, NotImplementedError, TypeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
            raise ConfigError(f'TimmEncoder model_name={model_name!r} '
                              f'(feature_cls={feature_cls!r}): {type(exc).__name__}: {first}'
                              ) from exc
        reductions = list(self.timm_model.feature_info.reduction())
        expected = [2 ** (i + 1) for i in range(num_levels - 1)]
        if reductions != expected:
            raise ConfigError(
                f'TimmEncoder {model_name!r} out_indices={list(indices)} give reductions '
                f'{reductions}, the decoder needs {expected}; choose other out_indices '
                'or another model')
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_channels, 3, padding=1),
                                  make_activation(act),
                                  nn.Conv2d(stem_channels, stem_channels, 3, padding=1),
                                  make_activation(act))
        self.channels = [stem_channels] + list(self.timm_model.feature_info.channels())
        self.num_levels = num_levels

    def forward(self, x: torch.Tensor, modulate: Modulate | None = None) -> list[torch.Tensor]:
        feats = [self.stem(x)] + list(self.timm_model(x))
        for level, f in enumerate(feats[1:], start=1):
            expect = (x.shape[-2] // 2 ** level, x.shape[-1] // 2 ** level)
            if tuple(f.shape[-2:]) != expect:
                raise ValueError(f'TimmEncoder level {level} has size {tuple(f.shape[-2:])}, '
                                 f'expected {expect} for input {tuple(x.shape[-2:])}')
        if modulate is not None:
            feats = [modulate(lv, f) if lv < self.num_levels - 1 else f
                     for lv, f in enumerate(feats)]
        return feats
