"""Which implementation of an operator runs: the backend choice, shared by every family.

Every operator family (:mod:`spairkit.ops.sparse_conv`, :mod:`spairkit.ops.criss_cross`,
:mod:`spairkit.ops.feature_modulation`, :mod:`spairkit.ops.sites`) dispatches through
the functions here; none decides on its own.

Backends, by name:

* ``'torch'``: the pure-PyTorch reference of each family, always there.
* ``'cpp'``: compiled C++ kernels for CPU tensors (registered as ``torch.ops.spairkit``).
* ``'cuda'``: compiled CUDA kernels for CUDA tensors (the same ops).

Automatic choice (the default) takes the compiled backend that matches the tensors'
device when it is available, else the reference. The environment variable
``SPAIRKIT_OPS_BACKEND=torch|cpp|cuda`` forces one; it is read at every call so tests
and scripts can switch it without re-importing anything. Forcing a backend that is
not available here, or one that does not run on the tensors' device, is an error,
never a silent fallback.

The compiled backend is one unit, the module :mod:`spairkit.ops.compiled`
(:func:`compiled_module`): its loader, ``is_available(kind) -> bool`` for
``kind in ('cpp', 'cuda')``, and the compiled entry points of the full-map operators
(``sparse_conv2d``, ``sparse_plan``, ``masked_criss_cross_attention``, defined in
their family modules). It is imported inside the functions that need it, so importing
:mod:`spairkit.ops` compiles nothing; if it cannot be imported, automatic mode treats
the compiled backends as unavailable and :func:`backend_status` says why.

Inside :func:`dense_ops` (an explicit mode, used to export a model) every operator
runs its dense-equivalent formulation instead, whatever the backend setting.

Under :func:`torch.compile` the choice is made once, while the graph is traced
(:func:`current_backend` is marked as having a constant result): changing
``SPAIRKIT_OPS_BACKEND`` afterwards does not change an already compiled graph.
"""
from __future__ import annotations

import contextlib
import contextvars
import importlib
import os
from collections.abc import Iterator
from types import ModuleType

import torch

from spairkit.errors import ConfigError, UserError

__all__ = [
    'BACKEND_ENV_VAR',
    'BACKENDS',
    'BackendUnavailableError',
    'available_backends',
    'backend_status',
    'compiled_module',
    'current_backend',
    'dense_module',
    'dense_ops',
    'dense_ops_enabled',
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
    return _select_backend(torch.device(device).type)


@torch.compiler.assume_constant_result
def _select_backend(device_type: str) -> str:
    # A plain call in eager mode (the environment is read every time); evaluated once
    # at trace time under torch.compile, where importing and building cannot be traced.
    device = torch.device(device_type)
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


def compiled_module() -> ModuleType:
    """The compiled backend (:mod:`spairkit.ops.compiled`) once :func:`current_backend`
    has chosen it; its entry points have the public operators' signatures."""
    module, reason = _import_compiled()
    if module is None:  # current_backend() has just checked; this is a race, not a choice
        raise BackendUnavailableError(reason)
    return module


# ------------------------------------------------------------------ dense mode
_DENSE_OPS: contextvars.ContextVar[bool] = contextvars.ContextVar('spairkit_dense_ops',
                                                                  default=False)


@contextlib.contextmanager
def dense_ops() -> Iterator[None]:
    """Within this context, :mod:`spairkit.ops` runs the dense-equivalent operators.

    Scoped to the current thread / async context (a :class:`contextvars.ContextVar`),
    so it cannot leak into other work; nesting is allowed.
    """
    token = _DENSE_OPS.set(True)
    try:
        yield
    finally:
        _DENSE_OPS.reset(token)


def dense_ops_enabled() -> bool:
    """Whether the caller is inside :func:`dense_ops`."""
    return _DENSE_OPS.get()


def dense_module() -> ModuleType:
    """The dense-equivalent backend (:mod:`spairkit.ops.dense`), used inside
    :func:`dense_ops`; like :func:`compiled_module`, one unit the families dispatch to
    (its functions are the families' ``dense_*`` formulations)."""
    return importlib.import_module('spairkit.ops.dense')


#: The public operators, defined in their family modules; importable from here as
#: before (resolved on first access: the families import this module).
_FAMILY_OF = {
    'sparse_conv2d': 'spairkit.ops.sparse_conv',
    'sparse_plan': 'spairkit.ops.sparse_conv',
    'masked_criss_cross_attention': 'spairkit.ops.criss_cross',
    'masked_feature_modulation': 'spairkit.ops.feature_modulation',
}


def __getattr__(name: str):
    if name in _FAMILY_OF:
        return getattr(importlib.import_module(_FAMILY_OF[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
