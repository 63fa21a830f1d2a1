"""The Python API: ``init_restorer`` builds a trained SPAIR, ``restore_image`` runs it.

Example::

    from spairkit.apis import init_restorer, restore_image
    model = init_restorer('work/model.py', 'work/model.pth', device='cpu')
    result = restore_image(model, rgb)          # numpy RGB in, numpy RGB out
    result.restored, result.mask                # same shape/dtype as rgb; HxW float32

Images are numpy arrays in RGB order (the CLI converts from OpenCV's BGR at the file
boundary): ``HxW`` gray, ``HxWx3`` RGB or ``HxWx4`` RGBA (alpha passed through
untouched), ``uint8``, ``uint16`` or float in [0, 1]. Any size works, including odd and
1-pixel sides (the networks pad and crop back).
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

from spairkit.checkpoint import load_checkpoint_file
from spairkit.config import load_config
from spairkit.errors import CheckpointError, ConfigError, DataError, UserError
from spairkit.limits import memory_budget_bytes
from spairkit.visualization.image_files import float_to_dtype

from .tiling import TileSpec, auto_tile, check_tiling, run_tiled

_INT_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


@dataclass(frozen=True)
class RestorationResult:
    """What :func:`restore_image` returns.

    Attributes:
        restored: the restored image, same shape and dtype as the input (alpha copied).
        mask: Net_L's degradation probability, ``HxW`` ``float32`` in [0, 1]
            (1 = degraded); Net_R used ``mask > binarize_threshold``.
    """

    restored: np.ndarray
    mask: np.ndarray


def resolve_device(device: str | torch.device) -> torch.device:
    """``'cpu'``, ``'cuda'``, ``'cuda:1'`` -> a usable device, or a one-line UserError."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise UserError(f"--device {device!r} is not a device name (use 'cpu' or 'cuda')") \
            from exc
    if dev.type == 'cuda':
        if not torch.cuda.is_available():
            raise UserError(f'--device {device}: CUDA is not available on this machine '
                            '(torch.cuda.is_available() is False); use --device cpu')
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(f'--device {device}: only {torch.cuda.device_count()} CUDA '
                            'device(s) are visible')
    elif dev.type != 'cpu':
        raise UserError(f"--device {device!r} is not supported (use 'cpu' or 'cuda')")
    return dev


def _inference_model_cfg(cfg: Config, source: str) -> dict:
    """``cfg.model`` adjusted for inference from a full restorer checkpoint.

    Training the restorer stage loads the frozen Net_L from ``netl_checkpoint``; a
    restorer checkpoint already holds those ``netl.*`` weights, so the file named there
    need not exist when restoring (it is usually a path on the training machine).
    """
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg = model_cfg.to_dict() if hasattr(model_cfg, 'to_dict') else dict(model_cfg)
    stage = model_cfg.get('stage', 'restorer')
    if stage != 'restorer':
        raise ConfigError(
            f"config {source} has model.stage={stage!r}: a localizer-stage model only "
            "predicts masks and restores nothing; use the restorer-stage config "
            "(model.stage='restorer') that the checkpoint was trained with")
    if model_cfg.get('use_gt_mask'):
        raise ConfigError(
            f'config {source} has model.use_gt_mask=True: that model needs ground-truth '
            'masks, which restoring new images does not have; set '
            'model.use_gt_mask=False (--cfg-options) to use the predicted mask')
    model_cfg['netl_checkpoint'] = None
    init_cfg = model_cfg.get('init_cfg')
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        model_cfg['init_cfg'] = None  # the checkpoint below replaces every weight
    return model_cfg


def _state_dict(checkpoint: dict, path: str) -> dict:
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict) or not state:
        raise CheckpointError(f'checkpoint {path} holds no state_dict')
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items()}
    for prefix, what in (('netl.', 'Net_L (localizer)'), ('netr.', 'Net_R (restorer)')):
        if not any(k.startswith(prefix) for k in state):
            raise CheckpointError(
                f"checkpoint {path} has no '{prefix}*' weights, so it holds no trained "
                f'{what}; restoring needs the checkpoint of a restorer-stage training')
    return state


def init_restorer(config: str | os.PathLike | Config, checkpoint: str | os.PathLike,
                  device: str | torch.device = 'cpu', unsafe_load: bool = False,
                  cfg_options: list[tuple[str, Any]] | dict | None = None) -> nn.Module:
    """Build the restorer of ``config`` and load ``checkpoint`` into it, ready to restore.

    Args:
        config: config file (``spairkit::`` paths work) or a loaded ``Config``.
        checkpoint: a restorer-stage checkpoint (``netl.*`` and ``netr.*`` weights).
        device: ``'cpu'`` or ``'cuda[:i]'``.
        unsafe_load: allow a checkpoint that needs arbitrary unpickling (trusted files
            only); by default it is loaded weights-only and such a file is refused.
        cfg_options: overrides, as ``--cfg-options`` pairs or a dict.

    Returns the model in eval mode on ``device``, with the config as ``model.cfg``.
    """
    dev = resolve_device(device)
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
        if cfg_options:
            cfg.merge_from_dict(dict(cfg_options))
        source = getattr(cfg, 'filename', None) or '<Config>'
    else:
        options = list(cfg_options.items()) if isinstance(cfg_options, dict) else cfg_options
        cfg = load_config(config, options)
        source = str(config)
    if 'model' not in cfg:
        raise ConfigError(f"config {source} defines no 'model'")
    from spairkit.config_validation import validate_config
    validate_config(cfg)
    model_cfg = _inference_model_cfg(cfg, source)

    from spairkit.registry import MODELS
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'spairkit')):
        model = MODELS.build(model_cfg)

    ckpt = load_checkpoint_file(checkpoint, map_location='cpu', unsafe=unsafe_load)
    state = _state_dict(ckpt, str(checkpoint))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise CheckpointError(
            f'checkpoint {checkpoint} does not fit the model of {source}: {detail} '
            '(use the config the checkpoint was trained with)') from exc
    model.cfg = cfg
    return model.to(dev).eval()


def _as_float_rgb(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(HxWx3 float32 in [0,1], alpha or None, layout) for any supported input."""
    if not isinstance(image, np.ndarray):
        raise DataError(f'restore_image expects a numpy array, got {type(image).__name__}')
    if image.ndim == 2:
        layout = 'gray'
    elif image.ndim == 3 and image.shape[2] in (1, 3, 4):
        layout = {1: 'gray1', 3: 'rgb', 4: 'rgba'}[image.shape[2]]
    else:
        raise DataError(f'expected an HxW, HxWx1, HxWx3 or HxWx4 image, got shape {image.shape}')
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise DataError(f'image has no pixels (shape {image.shape})')
    if image.dtype in _INT_MAX:
        scaled = image.astype(np.float32) / _INT_MAX[image.dtype]
    elif image.dtype.kind == 'f':
        if not np.isfinite(image).all() or image.min() < 0.0 or image.max() > 1.0:
            raise DataError('a float image must hold finite values in [0, 1]')
        scaled = image.astype(np.float32)
    else:
        raise DataError(f'unsupported image dtype {image.dtype} (use uint8, uint16 or float '
                        'in [0, 1])')
    alpha = image[:, :, 3].copy() if layout == 'rgba' else None
    if layout == 'gray':
        rgb = np.repeat(scaled[:, :, None], 3, axis=2)
    elif layout == 'gray1':
        rgb = np.repeat(scaled, 3, axis=2)
    else:
        rgb = scaled[:, :, :3]
    return np.ascontiguousarray(rgb), alpha, layout


def _back_to_layout(rgb: np.ndarray, alpha: np.ndarray | None, layout: str,
                    dtype: np.dtype) -> np.ndarray:
    """Restored HxWx3 float -> the input's layout and dtype (gray: mean of channels)."""
    if layout in ('gray', 'gray1'):
        gray = rgb.mean(axis=2)
        out = float_to_dtype(gray, dtype)
        return out if layout == 'gray' else out[:, :, None]
    out = float_to_dtype(rgb, dtype)
    if alpha is not None:
        out = np.concatenate([out, alpha[:, :, None]], axis=2)
    return np.ascontiguousarray(out)


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device('cpu')


def restore_image(model: nn.Module, image: np.ndarray, tile: TileSpec = None,
                  tile_overlap: int = 32,
                  memory_budget: str | int | None = None) -> RestorationResult:
    """Restore one RGB(A)/gray numpy image with a model from :func:`init_restorer`.

    Grayscale input is restored as three equal channels and returned as their mean.
    With ``tile`` the image is processed in overlapping ``tile x tile`` tiles, blended
    smoothly (see :mod:`spairkit.apis.tiling`); a tile as large as the image means
    whole-image inference. ``tile='auto'`` picks whole-image or the tile size from
    ``memory_budget`` (bytes, ``'8G'``; default :func:`spairkit.limits.memory_budget_bytes`).
    """
    check_tiling(tile, tile_overlap)
    if tile == 'auto':
        tile = auto_tile(image.shape[0], image.shape[1], memory_budget_bytes(memory_budget),
                         tile_overlap)
    rgb, alpha, layout = _as_float_rgb(image)
    device = _model_device(model)
    batch = torch.from_numpy(rgb).permute(2, 0, 1)[None].to(device)

    def run(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = model.predict(x)[0]
        return out['pred'], out['pred_mask']

    # no_grad rather than inference_mode: the compiled operators cache per-mask plans
    # keyed on the tensor version counter, which inference tensors do not have.
    with torch.no_grad():
        if tile is None:
            restored, mask = run(batch)
        else:
            restored, mask = run_tiled(run, batch, tile, tile_overlap)
    restored_np = restored.clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    mask_np = mask[0].clamp(0, 1).cpu().numpy().astype(np.float32)
    return RestorationResult(restored=_back_to_layout(restored_np, alpha, layout, image.dtype),
                             mask=mask_np)
