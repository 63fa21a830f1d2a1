"""The two-stage SPAIR model: Net_L (localizer) then Net_R with a frozen Net_L (restorer)."""
from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from mmengine.model import BaseModel
from torch import nn

from spairkit.errors import ConfigError
from spairkit.mask_rule import check_mask_rule_spec, rule_for
from spairkit.registry import LOSSES, MODELS

from .checkpoint import load_prefixed_weights
from .mask_metrics import mask_iou_f1
from .networks.interface import build_netr

STAGES = ('localizer', 'restorer')


@MODELS.register_module()
class SPAIR(BaseModel):
    """SPAIR (ICCV 2021) as an MMEngine model, trained in two stages.

    * ``stage='localizer'``: only Net_L is built and trained with ``mask_loss``
      (default BCE-with-logits, logged as ``loss_bce``) against the ground-truth
      mask; mask IoU/F1 at
      ``binarize_threshold`` are logged as ``mask_iou``/``mask_f1``.
    * ``stage='restorer'``: Net_L is built, frozen (no gradients, kept in eval mode)
      and loaded in :meth:`init_weights` from ``netl_checkpoint`` (a localizer-stage
      checkpoint, keys ``netl.*``); Net_R is trained with ``pixel_loss`` (default L1,
      logged as ``loss_l1``). The mask
      Net_R sees is ``sigmoid(Net_L) > binarize_threshold`` (or the ground-truth mask
      with ``use_gt_mask=True``), max-pooled per level inside Net_R.

    Where a sample has no ``mask``, the ground-truth mask is derived from
    ``|input - gt|`` by the mask rule (:class:`spairkit.mask_rule.MaskRule`) of the
    sample's task (``metainfo['task']``; the paper marks only severe distortions, with a
    per-task threshold), or by ``mask_rule`` when the config sets one. Inputs of any
    size are reflect-padded to the network stride and cropped back.

    ``forward`` modes: ``'loss'`` a dict of losses and logged scalars; ``'tensor'`` the
    restored batch (restorer, unclamped) or the mask logits (localizer); ``'predict'`` a
    list of per-image dicts ``pred``, ``pred_mask`` (probability), ``input``, ``gt`` and
    ``mask`` when known, ``metainfo`` (CPU, float, [0, 1]); in the localizer stage
    ``pred`` is the input (nothing is restored).

    Args:
        stage: ``'localizer'`` or ``'restorer'``.
        netl: Net_L config.
        netr: Net_R config (restorer stage): any network following the Net_R
            interface (:mod:`spairkit.models.networks.interface`); Net_L's feature widths
            are handed over as ``guide_channels`` when its constructor takes them.
        netl_checkpoint: localizer checkpoint for the restorer stage. Equivalently
            ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='netl.')``.
        use_gt_mask: restorer stage: feed Net_R the ground-truth mask instead of
            Net_L's (also at predict time; the predicted mask is still reported).
        mask_rule: the rule deriving a ground-truth mask from ``|input - gt|`` where a
            sample has none: ``None`` (default) = the rule of the sample's task,
            ``dict(threshold=..., on='max'|'y')`` or ``{task: dict(...)}``.
        mask_threshold: deprecated shorthand for
            ``mask_rule=dict(threshold=mask_threshold, on='max')`` (configs written
            before ``mask_rule``, e.g. an exported ``model.py``).
        binarize_threshold: probability above which Net_L marks a pixel degraded.
        pos_weight: shorthand for ``mask_loss=dict(type='BCELoss', pos_weight=...)``
            (give one or the other).
        pixel_loss: Net_R's loss, a ``LOSSES`` config (default ``L1Loss``, the paper's).
        mask_loss: Net_L's loss, a ``LOSSES`` config (default ``BCELoss``, the paper's).
        output_gate: optional module blending Net_R's output with the input through the
            mask Net_R sees, e.g. ``dict(type='MaskGatedBlend', dilation=1)``: the clean
            pixels outside it are returned unchanged (in training too). Default none
            (the paper's model).
        with_netl: ``False`` builds no Net_L at all (restorer stage only): for dense
            baselines such as ``netr=dict(type='NAFNet')`` that read neither guides
            nor (unless ``use_gt_mask``) a mask, so a baseline's time and parameters
            are its own. ``pred_mask`` is then all ones (every pixel is restored).
    """

    def __init__(self, stage: str = 'restorer', netl: dict | None = None,
                 netr: dict | None = None, netl_checkpoint: str | None = None,
                 use_gt_mask: bool = False, mask_rule: dict | None = None,
                 mask_threshold: float | None = None,
                 binarize_threshold: float = 0.5, pos_weight: float | None = None,
                 pixel_loss: dict | None = None, mask_loss: dict | None = None,
                 output_gate: dict | None = None, with_netl: bool = True,
                 data_preprocessor: dict | nn.Module | None = None,
                 init_cfg: dict | None = None):
        if stage not in STAGES:
            raise ConfigError(f"model.stage must be one of {STAGES}, got {stage!r}")
        if not 0.0 < binarize_threshold < 1.0:
            raise ConfigError(f'model.binarize_threshold must lie in (0, 1), '
                              f'got {binarize_threshold}')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained' \
                and init_cfg.get('prefix') == 'netl.':
            if netl_checkpoint is not None:
                raise ConfigError('give the Net_L checkpoint once: model.netl_checkpoint or '
                                  "model.init_cfg (type='Pretrained', prefix='netl.')")
            netl_checkpoint, init_cfg = init_cfg['checkpoint'], None
        if data_preprocessor is None:
            data_preprocessor = dict(type='RestorationDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)

        self.stage = stage
        self.netl_checkpoint = netl_checkpoint
        self.use_gt_mask = use_gt_mask
        if mask_threshold is not None:
            if mask_rule is not None:
                raise ConfigError('give model.mask_rule only (model.mask_threshold is its '
                                  'deprecated max-channel shorthand)')
            mask_rule = dict(threshold=mask_threshold, on='max')
        self.mask_rule = check_mask_rule_spec(mask_rule, 'model.mask_rule')
        self.binarize_threshold = float(binarize_threshold)
        if pos_weight is not None:
            if mask_loss is not None:
                raise ConfigError('give the BCE weight once: model.pos_weight or '
                                  'model.mask_loss, not both')
            mask_loss = dict(type='BCELoss', pos_weight=pos_weight)
        self.pixel_loss = LOSSES.build(copy.deepcopy(pixel_loss) if pixel_loss
                                       else dict(type='L1Loss'))
        self.mask_loss = LOSSES.build(copy.deepcopy(mask_loss) if mask_loss
                                      else dict(type='BCELoss'))
        if not with_netl:
            _check_without_netl(stage, netl_checkpoint, output_gate)
        self.netl = (MODELS.build(copy.deepcopy(netl) if netl else dict(type='NetL'))
                     if with_netl else None)
        self.netr = None
        self.output_gate = None
        if stage == 'restorer':
            # Through the Net_R interface only: no key of the Net_R config is read here.
            widths = list(self.netl.feature_channels) if self.netl is not None else []
            self.netr = build_netr(netr if netr else dict(type='NetR'), widths)
            self.output_gate = MODELS.build(dict(output_gate)) if output_gate else None
            if self.netl is None:
                _check_netr_without_netl(self.netr, use_gt_mask)
            else:
                for p in self.netl.parameters():
                    p.requires_grad_(False)
                self.netl.eval()

    # ------------------------------------------------------------------ set-up
    def train(self, mode: bool = True) -> SPAIR:
        """Keep the frozen Net_L in eval mode while Net_R trains."""
        super().train(mode)
        if self.stage == 'restorer' and self.netl is not None:
            self.netl.eval()
        return self

    def init_weights(self) -> None:
        """Initialise, then load the frozen Net_L of the restorer stage.

        Called by the runner before training only, so testing or restoring from a full
        restorer checkpoint never needs the localizer checkpoint.
        """
        super().init_weights()
        if self.stage != 'restorer' or self.netl is None:
            return
        if self.netl_checkpoint:
            load_prefixed_weights(self.netl, self.netl_checkpoint, prefix='netl.')
        elif not self.use_gt_mask and self.netl.init_cfg is None:
            raise ConfigError(
                'the restorer stage needs a trained Net_L: set model.netl_checkpoint to a '
                'localizer-stage checkpoint (or model.use_gt_mask=True)')

    # ----------------------------------------------------------------- helpers
    def _gt_masks(self, inputs: torch.Tensor, data_samples: Sequence[dict] | None,
                  required: bool = True) -> torch.Tensor | None:
        """Ground-truth masks (N,1,H,W): given, or derived by the task's mask rule."""
        if not data_samples:
            if required:
                raise ValueError('ground-truth masks need data_samples with mask or gt')
            return None
        masks = []
        for i, sample in enumerate(data_samples):
            if sample.get('mask') is not None:
                masks.append(sample['mask'].to(inputs))
            elif sample.get('gt') is not None:
                task = (sample.get('metainfo') or {}).get('task')
                rule = rule_for(self.mask_rule, task, 'model.mask_rule')
                derived = rule(inputs[i], sample['gt'].to(inputs), channel_axis=0)
                masks.append(derived[None].to(inputs.dtype))
            elif required:
                raise ValueError(f'data_samples[{i}] has neither mask nor gt')
            else:
                return None
        return torch.stack(masks, dim=0)

    def _localize(self, inputs: torch.Tensor):
        """Net_L logits and features (no gradients in the restorer stage: it is frozen).

        ``(None, None)`` for a model without Net_L (``with_netl=False``).
        """
        if self.netl is None:
            return None, None
        if self.stage == 'restorer':
            with torch.no_grad():
                return self.netl(inputs)
        return self.netl(inputs)

    def _restore(self, inputs: torch.Tensor, data_samples, logits, feats) -> torch.Tensor:
        if self.use_gt_mask:
            mask = self._gt_masks(inputs, data_samples)
        elif logits is None:  # no Net_L: a network that reads no mask
            mask = None
        else:
            mask = (torch.sigmoid(logits) > self.binarize_threshold).to(inputs.dtype)
        guides = feats if self.netr.guide_levels else None
        restored = self.netr(inputs, mask, guides)
        if self.output_gate is not None:
            restored = self.output_gate(inputs, restored, mask)
        return restored

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: torch.Tensor, data_samples: Sequence[dict] | None = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            logits, feats = self._localize(inputs)
            if self.stage == 'localizer':
                return logits
            return self._restore(inputs, data_samples, logits, feats)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def loss(self, inputs: torch.Tensor, data_samples: Sequence[dict]) -> dict:
        logits, feats = self._localize(inputs)
        if self.stage == 'localizer':
            target = self._gt_masks(inputs, data_samples)
            loss = self.mask_loss(logits, target)
            with torch.no_grad():
                pred = logits > math.log(self.binarize_threshold / (1 - self.binarize_threshold))
                iou, f1 = mask_iou_f1(pred, target > 0.5)
            return {self.mask_loss.loss_name: loss, 'mask_iou': iou, 'mask_f1': f1}
        gts = [s.get('gt') for s in data_samples]
        if any(g is None for g in gts):
            raise ValueError('the restorer loss needs a gt image in every data sample')
        restored = self._restore(inputs, data_samples, logits, feats)
        mask = self._gt_masks(inputs, data_samples) if self.pixel_loss.requires_mask else None
        loss = self.pixel_loss(restored, torch.stack(gts).to(restored), mask)
        return {self.pixel_loss.loss_name: loss}

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples: Sequence[dict] | None = None
                ) -> list[dict]:
        logits, feats = self._localize(inputs)
        prob = (torch.sigmoid(logits) if logits is not None
                else inputs.new_ones((inputs.shape[0], 1) + tuple(inputs.shape[-2:])))
        if self.stage == 'restorer':
            pred = self._restore(inputs, data_samples, logits, feats).clamp(0, 1)
        else:
            pred = inputs
        results = []
        for i in range(inputs.shape[0]):
            sample = data_samples[i] if data_samples else {}
            out = {'pred': pred[i].float().cpu(), 'pred_mask': prob[i].float().cpu(),
                   'input': inputs[i].float().cpu(),
                   'metainfo': dict(sample.get('metainfo', {}))}
            if sample.get('gt') is not None:
                out['gt'] = sample['gt'].float().cpu()
            if sample.get('mask') is not None:
                out['mask'] = sample['mask'].float().cpu()
            results.append(out)
        return results


def _check_without_netl(stage: str, netl_checkpoint, output_gate) -> None:
    """``with_netl=False`` is for restorer-stage baselines that need nothing of Net_L."""
    if stage != 'restorer':
        raise ConfigError("model.with_netl=False needs model.stage='restorer' (the "
                          'localizer stage trains Net_L)')
    if netl_checkpoint:
        raise ConfigError('model.with_netl=False builds no Net_L: drop model.netl_checkpoint '
                          f'({netl_checkpoint!r})')
    if output_gate:
        raise ConfigError('model.with_netl=False: model.output_gate needs a mask from Net_L')


def _check_netr_without_netl(netr: nn.Module, use_gt_mask: bool) -> None:
    if netr.guide_levels:
        raise ConfigError(f'model.with_netl=False, but {type(netr).__name__} fuses Net_L '
                          f'features at levels {tuple(netr.guide_levels)} (SFM)')
    if getattr(netr, "uses_mask", True) and not use_gt_mask:  # optional attribute
        raise ConfigError(f'model.with_netl=False, but {type(netr).__name__} reads a mask: '
                          'set model.use_gt_mask=True or use a network without mask-guided '
                          'blocks')
