"""Rules every operator family shares: the mask rule, the dtype rules, argument checks.

Written once here so the families (:mod:`spairkit.ops.sparse_conv`,
:mod:`spairkit.ops.criss_cross`, :mod:`spairkit.ops.feature_modulation`,
:mod:`spairkit.ops.sites`) apply the same rule on every backend:

* a pixel is *degraded* where ``mask > 0.5`` (:func:`binary_mask`);
* the reference and the CPU kernels compute in float32, or float64 when an input is
  float64 (:func:`compute_dtype`); CUDA kernels keep one shared input dtype, half and
  bf16 included (:func:`kernel_dtype`);
* autocast is switched off inside an operator (:func:`no_autocast`).

Also the two accessors of the compiled backend that the families' compiled code
uses, :func:`extension` (the pybind11 module, inside an op's implementation) and
:func:`library_ops` (``torch.ops.spairkit``, what a traced graph records). Both import
:mod:`spairkit.ops.compiled` only when called, so importing :mod:`spairkit.ops` builds
nothing.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType

import torch

__all__ = [
    'binary_mask',
    'check_mask',
    'check_same_device',
    'compute_dtype',
    'extension',
    'full_precision',
    'kernel_dtype',
    'library_ops',
    'memory_format_of',
    'no_autocast',
    'require_4d',
    'require_float',
]


def binary_mask(mask: torch.Tensor) -> torch.Tensor:
    """The degraded-pixel indicator of ``mask`` as a bool tensor (``mask > 0.5``).

    One rule for every backend, so a soft mask (e.g. a probability map passed by
    mistake) is thresholded the same way everywhere instead of being half-applied.
    """
    if mask.dtype == torch.bool:
        return mask
    return mask.detach() > 0.5


def compute_dtype(*tensors: torch.Tensor | None) -> torch.dtype:
    """float64 if any given float tensor is float64, else float32."""
    if any(t is not None and t.dtype == torch.float64 for t in tensors):
        return torch.float64
    return torch.float32


def kernel_dtype(device: torch.device, *tensors: torch.Tensor | None) -> torch.dtype:
    """The dtype the compiled kernels run in: on CUDA the inputs' dtype when they all
    share one (half and bf16 accumulate in float32 inside), else :func:`compute_dtype`."""
    dtypes = {t.dtype for t in tensors if t is not None}
    if device.type == 'cuda' and len(dtypes) == 1:
        (only,) = dtypes
        if only in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
            return only
    return compute_dtype(*tensors)


def no_autocast(device: torch.device):
    """Context that switches autocast off so an operator runs at the precision above."""
    return torch.autocast(device_type=device.type, enabled=False)


@contextlib.contextmanager
def full_precision(device: torch.device) -> Iterator[None]:
    """:func:`no_autocast` for the dense-equivalent formulations: a no-op (and nothing
    in an exported graph) when autocast is not on."""
    if torch.is_autocast_enabled(device.type):
        with torch.autocast(device_type=device.type, enabled=False):
            yield
    else:
        yield


def memory_format_of(t: torch.Tensor) -> torch.memory_format:
    """ATen's ``suggest_memory_format`` of a 4-D tensor: the layout kernel outputs follow
    (fake implementations use it to give outputs the strides the kernels give them)."""
    if t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(
            memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def require_float(name: str, t: torch.Tensor) -> None:
    if not isinstance(t, torch.Tensor):
        raise ValueError(f'{name} must be a torch.Tensor, got {type(t).__name__}')
    if not t.is_floating_point():
        raise ValueError(f'{name} must be a floating-point tensor, got dtype {t.dtype}')


def require_4d(name: str, t: torch.Tensor) -> None:
    if t.dim() != 4:
        raise ValueError(f'{name} must be 4-D (N, C, H, W), got shape {tuple(t.shape)}')


def check_mask(mask: torch.Tensor, n: int, h: int, w: int, ref: str) -> None:
    if not isinstance(mask, torch.Tensor):
        raise ValueError(f'mask must be a torch.Tensor, got {type(mask).__name__}')
    if tuple(mask.shape) != (n, 1, h, w):
        raise ValueError(
            f'mask must have shape (N, 1, H, W) = {(n, 1, h, w)} to match {ref}, '
            f'got {tuple(mask.shape)}')
    if mask.is_complex():
        raise ValueError(f'mask must be real or bool, got dtype {mask.dtype}')


def check_same_device(**tensors: torch.Tensor | None) -> None:
    devices = {name: t.device for name, t in tensors.items() if t is not None}
    if len(set(devices.values())) > 1:
        listing = ', '.join(f'{name} on {dev}' for name, dev in devices.items())
        raise ValueError(f'all inputs must be on the same device, got {listing}')


def extension(device: torch.device) -> ModuleType:
    """The pybind11 module of the compiled ops for tensors on ``device`` (built once)."""
    from spairkit.ops.compiled import load
    return load('cuda' if device.type == 'cuda' else 'cpp')


def library_ops(device: torch.device):
    """``torch.ops.spairkit``, after the build for ``device`` is loaded (which registers
    the ops). While :func:`torch.compile` traces, the backend choice has already loaded
    it (see :func:`spairkit.ops.backend.current_backend`), so nothing is imported then."""
    if not torch.compiler.is_compiling():
        extension(device)
    return torch.ops.spairkit
