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
import re
import urllib.parse
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from spairkit.errors import CheckpointError
from spairkit.fileio import atomic_write
from spairkit.limits import BUDGET_ENV, format_bytes, memory_budget_bytes

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
                         unsafe: bool = False, max_bytes: int | None = None) -> dict:
    """Load a checkpoint without executing code from it (unless ``unsafe``).

    ``path`` is a local file or an ``http(s)://`` URL; a URL is downloaded to the torch
    hub cache (:func:`cached_download`) and the downloaded file is loaded exactly like a
    local one. Before unpickling, the file is identified (:func:`describe_non_checkpoint`)
    and the sizes its zip members declare are compared with ``max_bytes`` (default: the
    memory budget of :mod:`spairkit.limits`), so a small file that would expand to
    gigabytes is refused before anything is decompressed.

    Raises :class:`CheckpointError` naming the file when it is missing, not a
    checkpoint, too large, truncated, or needs types outside :data:`SAFE_GLOBALS`.
    """
    text = os.fspath(path)
    if '://' in text:
        path = cached_download(text)
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f'checkpoint {path} is a folder, not a .pth file')
    if not path.is_file():
        raise CheckpointError(f'checkpoint not found: {path}')
    what = describe_non_checkpoint(path)
    if what is not None:
        raise CheckpointError(f'{path} is not a PyTorch checkpoint: it is {what}')
    check_declared_size(path, memory_budget_bytes() if max_bytes is None else max_bytes)
    try:
        if unsafe:
            checkpoint = torch.load(path, map_location=map_location, weights_only=False)
        else:
            with torch.serialization.safe_globals(SAFE_GLOBALS):
                checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        names = _unsafe_names(path)
        if not names:
            raise CheckpointError(
                f'checkpoint {path} is corrupt or not written by torch.save: '
                f'{_weights_only_reason(exc)}') from exc
        raise CheckpointError(
            f'refused to load checkpoint {path}: it contains {", ".join(names)}, which a '
            'safe (weights-only) load does not allow because unpickling it could run '
            'arbitrary code; if you trust the file, pass --unsafe-load') from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f'checkpoint {path} is unreadable or truncated: '
                              f'{_first_line(exc)}') from exc
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'checkpoint {path} does not hold a dict of weights '
                              f'(it holds a {type(checkpoint).__name__})')
    return from_plain(checkpoint)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _weights_only_reason(exc: BaseException) -> str:
    # torch prefixes every weights-only failure with a long explanation; keep its cause.
    text = str(exc)
    for marker in ('WeightsUnpickler error:', 'Unpickling error:'):
        if marker in text:
            return text.split(marker, 1)[1].strip().splitlines()[0]
    return _first_line(exc)


def _unsafe_names(path: Path) -> list[str]:
    """The globals outside :data:`SAFE_GLOBALS` that the pickle in ``path`` refers to."""
    try:
        allowed = {f'{g.__module__}.{g.__qualname__}' for g in SAFE_GLOBALS}
        return [n for n in torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
                if n not in allowed]
    except Exception:  # noqa: BLE001 - only used to word the message
        return []


#: A member expanding more than this many times is not what ``torch.save`` writes
#: (it stores every record uncompressed); it is refused before decompression.
MAX_COMPRESSION_RATIO = 100


def check_declared_size(path: Path, max_bytes: int) -> None:
    """Refuse a zip checkpoint whose members declare more than ``max_bytes`` in all,
    or that holds a strongly compressed record (a decompression bomb)."""
    if not zipfile.is_zipfile(path):
        return  # the legacy (pre-1.6) format is read record by record from the file
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f'checkpoint {path} is a damaged zip archive: {exc}') from exc
    total = sum(m.file_size for m in members)
    if total > max_bytes:
        raise CheckpointError(
            f'refused to load checkpoint {path}: its records expand to '
            f'{format_bytes(total)}, more than the memory budget of {format_bytes(max_bytes)} '
            f'(set {BUDGET_ENV} to raise it)')
    for member in members:
        if member.compress_type != zipfile.ZIP_STORED and member.file_size > 2**20 and \
                member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1):
            raise CheckpointError(
                f'refused to load checkpoint {path}: record {member.filename} is compressed '
                f'{member.compress_size} B -> {format_bytes(member.file_size)}, which '
                'torch.save never writes (a decompression bomb?)')


_PICKLE_PROTOCOL = 0x80  # first byte of a protocol >= 2 pickle (legacy torch.save format)


def describe_non_checkpoint(path: Path) -> str | None:
    """What ``path`` is when it is clearly not a ``torch.save`` file, else ``None``.

    Looks at the first bytes only: safetensors, JSON, Python/text, images, archives,
    a zip without ``data.pkl``, an empty file.
    """
    with open(path, 'rb') as f:
        head = f.read(4096)
    size = path.stat().st_size
    if size == 0:
        return 'an empty file (0 bytes)'
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return None  # let torch.load report the damage
        if any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
            return None
        if any(n.endswith('.onnx') for n in names) or any('constants.pkl' in n for n in names):
            return 'a zip archive without data.pkl (a TorchScript/exported program?)'
        return f'a zip archive without data.pkl (holds {", ".join(names[:3])}...)'
    if head[0] == _PICKLE_PROTOCOL:
        return None
    if len(head) >= 9:
        header_len = int.from_bytes(head[:8], 'little')
        if 0 < header_len < size and head[8:9] == b'{':
            return ('a safetensors file (load it with safetensors.torch.load_file and save '
                    'the state dict with torch.save)')
    for magic, name in ((b'\x89PNG', 'a PNG image'), (b'\xff\xd8\xff', 'a JPEG image'),
                        (b'\x1f\x8b', 'a gzip archive'), (b'PK', 'a damaged zip archive'),
                        (b'\x08', 'an ONNX model or other protobuf file')):
        if head.startswith(magic):
            return name
    if len(head) > 262 and head[257:262] == b'ustar':
        return 'a tar archive'
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError:
        text = None
    if text is not None and '\x00' not in text:
        stripped = text.lstrip()
        if stripped[:1] in ('{', '['):
            return 'a JSON file'
        if path.suffix == '.py' or re.search(r'^(import |from \S+ import |def |_base_|\w+ = )',
                                             text, re.MULTILINE):
            return 'a Python source file (a config? the checkpoint comes second)'
        return 'a text file'
    return f'not a torch.save file (it starts with bytes {head[:8].hex(" ")})'


def cached_download(url: str) -> Path:
    """Download an ``http(s)://`` checkpoint once into ``<torch hub dir>/checkpoints``.

    The same cache as ``torch.hub.load_state_dict_from_url``; the file is then loaded
    by :func:`load_checkpoint_file` like any local file, so a URL gets no more trust
    than a path. A ``file://`` URL is the local path.
    """
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == 'file':
        return Path(urllib.parse.unquote(parsed.path))
    if parsed.scheme not in ('http', 'https'):
        raise CheckpointError(
            f"checkpoint {url}: the scheme '{parsed.scheme}://' is not supported "
            '(use a local path or an http(s):// URL)')
    name = os.path.basename(parsed.path) or 'checkpoint.pth'
    target = Path(torch.hub.get_dir()) / 'checkpoints' / name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(url, str(target), progress=False)
        except (OSError, ValueError) as exc:  # URLError is an OSError
            raise CheckpointError(f'cannot download checkpoint {url}: {_first_line(exc)}') \
                from exc
    return target


def _mmengine_loader(unsafe: bool) -> Callable:
    def load(filename: str, map_location: Any = None, *args: Any, **kwargs: Any) -> dict:
        return load_checkpoint_file(filename, map_location=map_location or 'cpu',
                                    unsafe=unsafe)
    return load


def _mmengine_alias(table: Callable[[], dict], prefixes: tuple[str, ...], unsafe: bool) -> Callable:
    def load(filename: str, map_location: Any = None, *args: Any, **kwargs: Any) -> dict:
        prefix = next(p for p in prefixes if filename.startswith(p))
        urls = table()
        name = filename[len(prefix):]
        if name not in urls:
            raise CheckpointError(f'checkpoint {filename}: unknown model name {name!r}')
        return load_checkpoint_file(urls[name], map_location=map_location or 'cpu',
                                    unsafe=unsafe)
    return load


def _unsupported(filename: str, *args: Any, **kwargs: Any) -> dict:
    raise CheckpointError(f'checkpoint {filename}: this storage scheme is not supported by '
                          "spairkit's safe loader (use a local path or an http(s):// URL)")


def route_mmengine_loading(unsafe: bool = False) -> None:
    """Make every checkpoint MMEngine loads (``init_cfg=Pretrained``, ``load_checkpoint``)
    go through :func:`load_checkpoint_file`.

    MMEngine dispatches on the path's prefix (``CheckpointLoader``); its own loaders call
    ``torch.load`` / ``load_state_dict_from_url`` with ``weights_only=False`` for URLs.
    This re-registers local paths and ``http(s)://`` with spairkit's loader, resolves the
    model-name aliases (``torchvision://``, ``open-mmlab://``) to URLs loaded the same
    way, and refuses the remaining schemes. Called by :class:`SpairkitRunner` when it
    is built (the registration is MMEngine's process-wide table; ``unsafe`` follows the
    runner's ``unsafe_load``).
    """
    from mmengine.runner import checkpoint as mm

    loader = mm.CheckpointLoader
    loader.register_scheme(prefixes=('', 'http://', 'https://'), loader=_mmengine_loader(unsafe),
                           force=True)
    loader.register_scheme(prefixes=('modelzoo://', 'torchvision://'), force=True,
                           loader=_mmengine_alias(mm.get_torchvision_models,
                                                  ('modelzoo://', 'torchvision://'), unsafe))
    loader.register_scheme(prefixes=('open-mmlab://', 'openmmlab://'), force=True,
                           loader=_mmengine_alias(mm.get_external_models,
                                                  ('open-mmlab://', 'openmmlab://'), unsafe))
    for prefix in list(loader._schemes):
        if prefix not in ('', 'http://', 'https://', 'modelzoo://', 'torchvision://',
                          'open-mmlab://', 'openmmlab://'):
            loader.register_scheme(prefixes=prefix, loader=_unsupported, force=True)


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
