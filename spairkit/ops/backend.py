"""Per-call backend dispatch for the SPAIR operators.

Backends, by name:

* ``'torch'``: the pure-PyTorch reference (:mod:`spairkit.ops.reference`), always there.
* ``'cpp'``: compiled C++ kernels for CPU tensors, from :mod:`spairkit.ops.compiled`.
* ``'cuda'``: compiled CUDA kernels for CUDA tensors, from :mod:`spairkit.ops.compiled`.

Automatic choice (the default) takes the compiled backend that matches the tensors'
device when it is available, else the reference. The environment variable
``SPAIRKIT_OPS_BACKEND=torch|cpp|cuda`` forces one; it is read at every call so tests
and scripts can switch it without re-importing anything. Forcing a backend that is
not available here, or one that does not run on the tensors' device, is an error,
never a silent fallback.

:mod:`spairkit.ops.compiled` is imported inside the functions that need it, so importing
:mod:`spairkit.ops` compiles nothing. Its interface, as used here:
``is_available(kind) -> bool`` for ``kind in ('cpp', 'cuda')`` and ``sparse_conv2d`` /
``masked_criss_cross_attention`` with the public signatures. If the module cannot be
imported, automatic mode treats the compiled backends as unavailable and
:func:`backend_status` says why.

Inside :func:`spairkit.ops.dense.dense_ops` (an explicit mode, used to export a
model) every operator runs its dense-equivalent formulation instead, whatever the
backend setting; see :mod:`spairkit.ops.dense`.

``masked_feature_modulation`` always runs the reference: it is two masked reductions
and one elementwise pass, already memory-bandwidth-bound in PyTorch, so a dedicated
kernel would gain nothing measurable.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

import torch

from spairkit.errors import ConfigError, UserError
from spairkit.ops import dense, reference

__all__ = [
    'BACKEND_ENV_VAR',
    'BACKENDS',
    'BackendUnavailableError',
    'available_backends',
    'backend_status',
    'current_backend',
    'sparse_conv2d',
    'masked_criss_cross_attention',
    'masked_feature_modulation',
]

BACKEND_ENV_VAR = 'SPAIRKIT_OPS_BACKEND'
BACKENDS = ('torch', 'cpp', 'cuda')
_COMPILED_MODULE = 'spairkit.ops.compiled'
#: The device type each compiled backend runs on.
_DEVICE_OF = {'cpp': 'cpu', 'cuda': 'cuda'}


class BackendUnavailableError(UserError, RuntimeError):
    """A forced backend cannot run here (not built, no device, wrong device)."""


def _import_compiled() -> tuple[ModuleType | None, str | None]:
    """The compiled-ops module, or None and the reason it cannot be imported."""
    try:
        return importlib.import_module(_COMPILED_MODULE), None
    except ImportError as exc:
        return None, f'{_COMPILED_MODULE} cannot be imported ({type(exc).__name__}: {exc})'


def _unavailable_reason(kind: str) -> str | None:
    """None if compiled backend ``kind`` can run here, else a one-line reason."""
    if kind == 'cuda' and not torch.cuda.is_available():
        return 'no CUDA device is visible to PyTorch'
    module, reason = _import_compiled()
    if module is None:
        return reason
    if not module.is_available(kind):
        return f'no {kind} build of the compiled ops can be loaded (try `spairkit ops build`)'
    return None


def backend_status() -> dict[str, str | None]:
    """Every backend name mapped to None if it can run here, else why it cannot."""
    status: dict[str, str | None] = {'torch': None}
    for kind in ('cpp', 'cuda'):
        status[kind] = _unavailable_reason(kind)
    return status


def available_backends() -> list[str]:
    """The backends that can run here, in the order of :data:`BACKENDS`."""
    return [name for name, reason in backend_status().items() if reason is None]


def _forced_backend() -> str | None:
    """The backend named by the environment variable, or None for automatic choice."""
    raw = os.environ.get(BACKEND_ENV_VAR, '')
    value = raw.strip().lower()
    if value in ('', 'auto'):
        return None
    if value not in BACKENDS:
        raise ConfigError(
            f'{BACKEND_ENV_VAR}={raw!r} is not a backend; use one of {", ".join(BACKENDS)} '
            f'(available here: {", ".join(available_backends())})')
    return value


def current_backend(device: torch.device | str) -> str:
    """The backend an operator call on tensors on ``device`` uses now.

    Raises :class:`BackendUnavailableError` (or :class:`ConfigError` for an invalid
    value) when ``SPAIRKIT_OPS_BACKEND`` forces a backend that cannot run here.
    """
    device = torch.device(device)
    forced = _forced_backend()
    if forced is None:
        kind = {'cpu': 'cpp', 'cuda': 'cuda'}.get(device.type)
        if kind is not None and _unavailable_reason(kind) is None:
            return kind
        return 'torch'
    if forced == 'torch':
        return 'torch'
    reason = _unavailable_reason(forced)
    if reason is not None:
        raise BackendUnavailableError(
            f'{BACKEND_ENV_VAR}={forced} but the {forced} backend is not available: {reason} '
            f'(available here: {", ".join(available_backends())})')
    if device.type != _DEVICE_OF[forced]:
        raise BackendUnavailableError(
            f'{BACKEND_ENV_VAR}={forced} runs on {_DEVICE_OF[forced]} tensors, '
            f'but the inputs are on {device}')
    return forced


def _compiled() -> ModuleType:
    module, reason = _import_compiled()
    if module is None:  # current_backend() has just checked; this is a race, not a choice
        raise BackendUnavailableError(reason)
    return module


def sparse_conv2d(x: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, dilation: int = 1, *,
                  plan=None) -> torch.Tensor:
    """Submanifold sparse convolution, SPAIR eq. (2); see
    :func:`spairkit.ops.reference.sparse_conv2d` for the exact definition.

    ``plan`` (from :func:`sparse_plan` on the same mask, kernel size and dilation)
    lets the layers of a block share one active-site index; ``None`` builds it.
    """
    if dense.dense_ops_enabled():
        return dense.sparse_conv2d(x, mask, weight, bias, dilation)
    reference.check_sparse_conv2d_args(x, mask, weight, bias, dilation)
    backend = current_backend(x.device)
    if backend == 'torch':
        return reference.sparse_conv2d(x, mask, weight, bias, dilation)
    return _compiled().sparse_conv2d(x, mask, weight, bias, dilation, plan=plan)


def sparse_plan(mask: torch.Tensor, kernel_size: int = 3, dilation: int = 1):
    """The active-site index of ``mask`` for the backend that will run, or ``None``.

    Build it once per mask and pass it to every :func:`sparse_conv2d` with that mask,
    kernel size and dilation. The reference needs no index, so under the ``torch``
    backend this returns ``None`` (which :func:`sparse_conv2d` accepts).
    """
    if dense.dense_ops_enabled() or current_backend(mask.device) == 'torch':
        return None
    return _compiled().sparse_plan(mask, kernel_size, dilation)


def masked_criss_cross_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 mask: torch.Tensor, weights: torch.Tensor,
                                 scale: float = 1.0) -> torch.Tensor:
    """SNL's masked directional attention, SPAIR eqs. (3)-(5); see
    :func:`spairkit.ops.reference.masked_criss_cross_attention`."""
    if dense.dense_ops_enabled():
        return dense.masked_criss_cross_attention(query, key, value, mask, weights, scale)
    reference.check_masked_criss_cross_attention_args(query, key, value, mask, weights, scale)
    backend = current_backend(value.device)
    if backend == 'torch':
        return reference.masked_criss_cross_attention(query, key, value, mask, weights, scale)
    return _compiled().masked_criss_cross_attention(query, key, value, mask, weights, scale)


def masked_feature_modulation(feat: torch.Tensor, mask: torch.Tensor,
                              eps: float = 1e-5) -> torch.Tensor:
    """SFM, SPAIR eq. (1); always the reference (see the module docstring for why).

    A forced backend is still validated, so a wrong ``SPAIRKIT_OPS_BACKEND`` is
    reported by whichever operator runs first.
    """
    if dense.dense_ops_enabled():
        return dense.masked_feature_modulation(feat, mask, eps)
    current_backend(feat.device)
    return reference.masked_feature_modulation(feat, mask, eps)
