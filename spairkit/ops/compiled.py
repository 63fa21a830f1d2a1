"""The compiled (C++/CUDA) backend of the SPAIR operators: loader and registration.

Sources live in ``cuda_ops/`` (see ``docs/operators.md``); this module builds them
lazily, on the first call of :func:`is_available`, :func:`load` or of an operator
(never at import). Loading a build registers every operator family's
``torch.library`` ops (``torch.ops.spairkit.*``, :func:`register_ops`), once per
process and in this one place; the ops themselves (schema, fake function, autograd,
wrapper with the dtype rules of :mod:`spairkit.ops._common`) are defined in their
family modules (:mod:`spairkit.ops.sparse_conv`, :mod:`spairkit.ops.criss_cross`,
:mod:`spairkit.ops.sites`). This module also names the compiled entry points of the
full-map operators (:func:`sparse_conv2d`, :func:`sparse_plan`,
:func:`masked_criss_cross_attention`), through which :mod:`spairkit.ops.backend`
dispatches to the compiled backend as one unit.

There is one build per process: with the CUDA kernels when torch sees a GPU and a
CUDA toolkit is installed, CPU-only otherwise. A build that fails (no compiler,
compiler error) emits one ``RuntimeWarning`` naming the log and the backends report
unavailable, so :mod:`spairkit.ops.backend` falls back to the reference in automatic
mode and raises when a compiled backend is forced. ``SPAIRKIT_OPS_NO_BUILD=1`` makes
the compiled backends unavailable without compiling (for quick runs of unrelated code);
an already built library is still used.

Sparse convolution plans: the active-site index of a mask (:class:`SparsePlan`)
depends on the mask, kernel size and dilation only. :func:`sparse_conv2d` builds
one per call unless ``plan=`` is given; an SC block with several layers on the same
mask builds it once with :func:`sparse_plan` and passes it to every layer.
"""
from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from types import ModuleType

import torch

from spairkit.ops import _build, criss_cross, sites, sparse_conv
from spairkit.ops.criss_cross import (
    compiled_masked_criss_cross_attention as masked_criss_cross_attention,
)
from spairkit.ops.sparse_conv import SparsePlan
from spairkit.ops.sparse_conv import compiled_sparse_conv2d as sparse_conv2d
from spairkit.ops.sparse_conv import compiled_sparse_plan as sparse_plan

__all__ = [
    'CompiledOpsUnavailable',
    'NO_BUILD_ENV',
    'SparsePlan',
    'build',
    'build_status',
    'is_available',
    'load',
    'masked_criss_cross_attention',
    'register_ops',
    'sparse_conv2d',
    'sparse_plan',
]

NO_BUILD_ENV = 'SPAIRKIT_OPS_NO_BUILD'
KINDS = ('cpp', 'cuda')


class CompiledOpsUnavailable(RuntimeError):
    """The compiled operators cannot be used here; the message says why."""


@dataclass(frozen=True)
class _LoadResult:
    module: ModuleType | None
    spec: _build.BuildSpec | None
    error: str | None


def default_with_cuda() -> bool:
    """Whether this process's build includes the CUDA kernels."""
    return _build.cuda_toolkit() is not None


@functools.cache
def _load(with_cuda: bool) -> _LoadResult:
    """Build and import once per process and flavour; a failure is remembered too."""
    try:
        spec = _build.build_spec(with_cuda)
    except FileNotFoundError as exc:
        warnings.warn(f'spairkit ops: {exc}; using the PyTorch reference operators',
                      RuntimeWarning, stacklevel=3)
        return _LoadResult(None, None, str(exc))
    if os.environ.get(NO_BUILD_ENV) == '1' and not spec.library.exists():
        return _LoadResult(None, spec, f'not built and {NO_BUILD_ENV}=1')
    try:
        module = _build.load_extension(spec)
    except Exception as exc:  # noqa: BLE001 - any build failure means "use the reference"
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        reason = f'building the compiled operators failed ({first.strip()[:200]})'
        warnings.warn(f'spairkit ops: {reason}; using the PyTorch reference operators. '
                      f'Compiler output: {spec.log_file}; retry with '
                      f'`spairkit ops build --verbose`', RuntimeWarning, stacklevel=3)
        return _LoadResult(None, spec, reason)
    register_ops()
    return _LoadResult(module, spec, None)


@functools.cache
def register_ops() -> None:
    """Register every family's ``torch.library`` ops (``torch.ops.spairkit.*``), once.

    Called when a build is first loaded; the ops' implementations call that build.
    """
    for family in (sparse_conv, criss_cross, sites):
        family.register_ops()


def load(kind: str = 'cpp') -> ModuleType:
    """The extension module for backend ``kind`` ('cpp' or 'cuda'), building it once.

    Raises :class:`CompiledOpsUnavailable` with the reason when it cannot be used.
    """
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {KINDS}, got {kind!r}')
    if kind == 'cuda' and not torch.cuda.is_available():
        raise CompiledOpsUnavailable('no CUDA device is visible to PyTorch')
    result = _load(default_with_cuda())
    if result.module is None:
        raise CompiledOpsUnavailable(result.error)
    if kind == 'cuda' and not result.module.with_cuda():
        raise CompiledOpsUnavailable('the build has no CUDA kernels (no CUDA toolkit found)')
    return result.module


def is_available(kind: str) -> bool:
    """Whether backend ``kind`` ('cpp' or 'cuda') can run; builds on the first call."""
    try:
        load(kind)
    except CompiledOpsUnavailable:
        return False
    return True


def build(with_cuda: bool | None = None, verbose: bool = False) -> _build.BuildSpec:
    """Build ahead of time (``spairkit ops build``); errors propagate, nothing is cached.

    Returns the spec, whose ``build_dir`` and ``library`` say where the build lives.
    """
    if with_cuda is None:
        with_cuda = default_with_cuda()
    spec = _build.build_spec(with_cuda)
    _build.load_extension(spec, verbose=verbose)
    return spec


def build_status() -> dict[str, object]:
    """Where the build of this process lives and whether it exists; compiles nothing."""
    with_cuda = default_with_cuda()
    try:
        spec = _build.build_spec(with_cuda)
    except FileNotFoundError as exc:
        return {'with_cuda': with_cuda, 'built': False, 'error': str(exc),
                'build_dir': None, 'library': None}
    return {'with_cuda': with_cuda, 'built': spec.library.exists(), 'error': None,
            'build_dir': str(spec.build_dir), 'library': str(spec.library),
            'sources': str(spec.source_dir)}
