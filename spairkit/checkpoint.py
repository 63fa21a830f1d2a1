"""Checkpoints that load with ``torch.load(weights_only=True)`` and are written atomically.

A low-level module: the Runner (resume, ``load_from``), Net_L loading in the models,
``spairkit test`` and ``restore`` all read checkpoints through it.

Why: torch >= 2.6 loads with ``weights_only=True`` by default, which rejects the
pickled objects MMEngine 0.10.7 stores (``HistoryBuffer`` with numpy arrays), so
MMEngine cannot resume. Falling back to ``weights_only=False`` would let a
downloaded checkpoint run arbitrary code. Instead spairkit

* saves checkpoints as plain values (dicts, lists, numbers, strings, tensors):
  :func:`to_plain` turns ``HistoryBuffer`` and numpy values into those, and
  :func:`from_plain` restores them after loading;
* loads with ``weights_only=True`` and an explicit allowlist
  (:data:`SAFE_GLOBALS`) of the few types that checkpoints written by plain
  MMEngine contain; anything else is refused with :class:`CheckpointError`
  unless the user opts in with ``--unsafe-load``;
* writes to a temporary file in the same folder and renames it, so a kill
  while saving never leaves a truncated checkpoint behind.
"""
from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from spairkit.errors import CheckpointError
from spairkit.fileio import atomic_write

HISTORY_BUFFER_TAG = '__spairkit_history_buffer__'


def _numpy_globals() -> list:
    """The numpy callables/types a pickled ndarray or numpy scalar refers to."""
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    found = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    found += [type(np.dtype(code)) for code in '?bhilqBHILQefdgFDG']
    return found


#: Types a checkpoint written by MMEngine itself (not by spairkit) may contain
#: and that are safe to reconstruct: no callable that can run arbitrary code.
SAFE_GLOBALS: list = [HistoryBuffer, *_numpy_globals()]


def to_plain(obj: Any) -> Any:
    """Recursively replace HistoryBuffer/numpy values by weights-only-loadable ones."""
    if isinstance(obj, HistoryBuffer):
        return {HISTORY_BUFFER_TAG: {
            'max_length': int(obj.max_length),
            'log_history': torch.from_numpy(np.asarray(obj._log_history, dtype=np.float64)),
            'count_history': torch.from_numpy(np.asarray(obj._count_history, dtype=np.float64)),
        }}
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Mapping):
        return _mapping_type(obj)((k, to_plain(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [to_plain(v) for v in obj]
    if isinstance(obj, tuple) and not hasattr(obj, '_fields'):
        return tuple(to_plain(v) for v in obj)
    return obj


def _mapping_type(obj: Mapping) -> type:
    # dict and OrderedDict load with weights_only; other mappings become dicts.
    return type(obj) if type(obj) in (dict, OrderedDict) else dict


def from_plain(obj: Any) -> Any:
    """Inverse of :func:`to_plain` for the HistoryBuffers of the message hub."""
    if isinstance(obj, Mapping):
        if set(obj) == {HISTORY_BUFFER_TAG}:
            state = obj[HISTORY_BUFFER_TAG]
            buffer = HistoryBuffer(max_length=int(state['max_length']))
            buffer._log_history = np.asarray(state['log_history'].numpy(), dtype=np.float64)
            buffer._count_history = np.asarray(state['count_history'].numpy(), dtype=np.float64)
            return buffer
        return _mapping_type(obj)((k, from_plain(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [from_plain(v) for v in obj]
    return obj


def load_checkpoint_file(path: str | os.PathLike, map_location: Any = 'cpu',
                         unsafe: bool = False) -> dict:
    """Load a checkpoint without executing code from it (unless ``unsafe``).

    Raises :class:`CheckpointError` naming the file when it is missing,
    truncated, or needs types outside :data:`SAFE_GLOBALS`.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'checkpoint not found: {path}')
    try:
        if unsafe:
            checkpoint = torch.load(path, map_location=map_location, weights_only=False)
        else:
            with torch.serialization.safe_globals(SAFE_GLOBALS):
                checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if 'weights_only' not in str(exc) and 'Weights only' not in str(exc):
            raise CheckpointError(f'checkpoint {path} is corrupt: {exc}') from exc
        names = _unsafe_names(path)
        raise CheckpointError(
            f'refused to load checkpoint {path}: it contains {names}, which a safe '
            '(weights-only) load does not allow because unpickling it could run '
            'arbitrary code; if you trust the file, pass --unsafe-load') from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(f'checkpoint {path} is unreadable or truncated: {exc}') from exc
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'checkpoint {path} does not hold a dict of weights')
    return from_plain(checkpoint)


def _unsafe_names(path: Path) -> str:
    try:
        allowed = {f'{g.__module__}.{g.__qualname__}' for g in SAFE_GLOBALS}
        names = [n for n in torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
                 if n not in allowed]
    except Exception:  # noqa: BLE001 - only used to word the message
        names = []
    return ', '.join(names) if names else 'objects outside the allowlist'


def atomic_save(obj: Any, path: str | os.PathLike,
                save: Callable[[Any, Any], None] = torch.save) -> None:
    """``save(obj, file)`` to a temp file beside ``path``, then rename over it."""
    atomic_write(path, lambda f: save(obj, f))


def latest_checkpoint(work_dir: str | os.PathLike) -> Path | None:
    """The checkpoint named in ``work_dir/last_checkpoint``, if it exists.

    Falls back to the newest ``iter_*.pth``/``epoch_*.pth`` when the pointer
    file is missing or names a file that is gone (e.g. a kill between writing
    the checkpoint and the pointer), and says so in the log.
    """
    work_dir = Path(work_dir)
    pointer = work_dir / 'last_checkpoint'
    if pointer.is_file():
        named = Path(pointer.read_text().strip())
        if named.is_file():
            return named
    candidates = [p for p in work_dir.glob('*.pth') if p.stem.split('_')[0] in ('iter', 'epoch')]
    if not candidates:
        return None
    return max(candidates, key=lambda p: int(p.stem.split('_')[-1]))
