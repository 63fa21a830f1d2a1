"""Building the compiled operators of ``cuda_ops/`` with torch's cpp_extension.

Private to :mod:`spairkit.ops.compiled` and the ``spairkit ops`` command. Three
concerns live here:

* *What to build*: :func:`build_spec` lists the sources (the CPU files always, the
  ``.cu`` launchers only for a CUDA build) and derives a private build directory
  ``<cache>/spairkit/ops/<torch>-<flavour>-<hash>`` from the torch version, the
  flavour and a hash of the checkout path, flags and Python version. Upgrading torch
  builds afresh; editing a kernel rebuilds incrementally (ninja tracks sources and the
  headers they include), so a stale library is never loaded.
* *Building safely in parallel*: several processes (test workers, training ranks)
  may ask for the same build at once. :class:`BuildLock` serialises them with a
  lock file that records its owner; a lock whose owner has died, or that is older
  than ``SPAIRKIT_OPS_LOCK_TIMEOUT`` seconds, is removed with a warning instead of
  blocking forever. With a torch whose cpp_extension still uses ``FileBaton`` (which
  waits without limit while its ``lock`` file exists), that file is known to be
  stale while we hold ours and is removed too; newer torch holds an OS advisory
  lock that a dead process cannot leave behind, and its file is left alone.
* *Reporting*: :func:`toolchain_info` gathers versions for ``spairkit ops info``
  without compiling anything.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import torch

__all__ = [
    'BuildLock',
    'BuildSpec',
    'CACHE_ENV',
    'LOCK_TIMEOUT_ENV',
    'SOURCES_ENV',
    'build_spec',
    'cuda_toolkit',
    'find_source_dir',
    'load_extension',
    'toolchain_info',
]

#: Folder holding the ``cuda_ops`` sources (default: the one next to the package).
SOURCES_ENV = 'SPAIRKIT_OPS_SOURCES'
#: Root of the build cache (default: ``$XDG_CACHE_HOME`` or ``~/.cache``).
CACHE_ENV = 'SPAIRKIT_OPS_CACHE'
#: Seconds after which another process's build lock counts as stale.
LOCK_TIMEOUT_ENV = 'SPAIRKIT_OPS_LOCK_TIMEOUT'
DEFAULT_LOCK_TIMEOUT_S = 900.0

_CXX_FLAGS = ('-O3',)
_CUDA_FLAGS = ('-O3', '-lineinfo')


@dataclass(frozen=True)
class BuildSpec:
    """Everything that determines one build of the extension."""

    name: str
    source_dir: Path
    sources: tuple[Path, ...]
    build_dir: Path
    with_cuda: bool
    cflags: tuple[str, ...] = field(default=())
    cuda_cflags: tuple[str, ...] = field(default=())

    @property
    def library(self) -> Path:
        """The shared library cpp_extension writes (its presence means 'built')."""
        return self.build_dir / f'{self.name}.so'

    @property
    def log_file(self) -> Path:
        return self.build_dir / 'build.log'


def find_source_dir() -> Path | None:
    """The ``cuda_ops`` sources: ``$SPAIRKIT_OPS_SOURCES``, else the copy a wheel ships
    as ``spairkit/ops/csrc`` (see ``setup.py``), else the checkout's ``cuda_ops/``
    (editable install)."""
    override = os.environ.get(SOURCES_ENV)
    here = Path(__file__).resolve().parent
    candidates = [Path(override)] if override else [
        here / 'csrc', here.parents[1] / 'cuda_ops']
    for path in candidates:
        if (path / 'bindings' / 'module.cpp').is_file():
            return path
    return None


def cuda_toolkit() -> str | None:
    """CUDA_HOME when a CUDA build is possible here (a GPU and nvcc), else None."""
    if not torch.cuda.is_available() or torch.version.cuda is None:
        return None
    from torch.utils.cpp_extension import CUDA_HOME
    if CUDA_HOME is None:
        return None
    nvcc = Path(CUDA_HOME) / 'bin' / 'nvcc'
    return CUDA_HOME if nvcc.exists() else None


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get('XDG_CACHE_HOME') or str(Path.home() / '.cache')
    return Path(base) / 'spairkit' / 'ops'


def _collect_sources(source_dir: Path, with_cuda: bool) -> tuple[Path, ...]:
    sources = sorted(source_dir.glob('cpu/*.cpp')) + sorted(source_dir.glob('bindings/*.cpp'))
    if with_cuda:
        sources += sorted(source_dir.glob('cuda/*.cu'))
    return tuple(sources)


def _digest(source_dir: Path, flags: tuple[str, ...]) -> str:
    """Hash naming the build directory: checkout, flags, torch and Python versions.

    Source contents are not part of it: ninja rebuilds what changed (it tracks the
    headers each file includes), so an edited kernel is never loaded stale, and an
    edit costs an incremental rebuild rather than a full one.
    """
    h = hashlib.sha256()
    h.update(str(source_dir.resolve()).encode())
    h.update(' '.join(flags).encode())
    h.update(torch.__version__.encode())
    h.update(sys.version.encode())
    return h.hexdigest()[:12]


def build_spec(with_cuda: bool) -> BuildSpec:
    """The build of the current sources for this torch, CPU-only or with CUDA."""
    source_dir = find_source_dir()
    if source_dir is None:
        raise FileNotFoundError(
            f'the cuda_ops sources were not found next to the spairkit package; set '
            f'{SOURCES_ENV} to the cuda_ops folder of a spairkit checkout')
    cflags = _CXX_FLAGS + (('-DSPAIRKIT_WITH_CUDA',) if with_cuda else ())
    cuda_cflags = _CUDA_FLAGS + ('-DSPAIRKIT_WITH_CUDA',) if with_cuda else ()
    flavour = f'cu{torch.version.cuda}'.replace('.', '') if with_cuda else 'cpu'
    digest = _digest(source_dir, cflags + cuda_cflags + (flavour,))
    tag = f"torch{torch.__version__.replace('+', '_')}-{flavour}-{digest}"
    return BuildSpec(
        name=f'spairkit_ops_{flavour}',
        source_dir=source_dir,
        sources=_collect_sources(source_dir, with_cuda),
        build_dir=cache_root() / tag,
        with_cuda=with_cuda,
        cflags=cflags,
        cuda_cflags=cuda_cflags,
    )


def _lock_timeout() -> float:
    raw = os.environ.get(LOCK_TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f'{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds') from None
    if value <= 0:
        raise ValueError(f'{LOCK_TIMEOUT_ENV}={raw!r} must be > 0')
    return value


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class BuildLock:
    """Exclusive build lock ``<build_dir>.lock`` that cannot be left to hang others.

    The file holds the owner's host, pid and start time. A waiter removes it (with a
    warning) when the owner is a dead process on this host or when the file is older
    than ``timeout_s``; otherwise it polls every ``poll_s`` seconds.
    """

    def __init__(self, build_dir: Path, timeout_s: float | None = None,
                 poll_s: float = 0.5) -> None:
        self.path = build_dir.parent / f'{build_dir.name}.lock'
        self.timeout_s = _lock_timeout() if timeout_s is None else timeout_s
        self.poll_s = poll_s
        self._held = False

    def _owner(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def _stale_reason(self) -> str | None:
        try:
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return None
        owner = self._owner()
        pid, host = owner.get('pid'), owner.get('host')
        if isinstance(pid, int) and host == socket.gethostname() and not _pid_alive(pid):
            return f'its owner (pid {pid}) is gone'
        if age > self.timeout_s:
            return f'it is {age:.0f} s old (limit {LOCK_TIMEOUT_ENV}={self.timeout_s:.0f})'
        return None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = json.dumps({'pid': os.getpid(), 'host': socket.gethostname(),
                             'time': time.time()})
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                reason = self._stale_reason()
                if reason is not None:
                    warnings.warn(f'spairkit ops: removing stale build lock {self.path} '
                                  f'({reason})', RuntimeWarning, stacklevel=3)
                    with contextlib.suppress(FileNotFoundError):
                        self.path.unlink()
                    continue
                time.sleep(self.poll_s)
                continue
            with os.fdopen(fd, 'w') as f:
                f.write(record)
            self._held = True
            return

    def release(self) -> None:
        if self._held:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self._held = False

    def __enter__(self) -> BuildLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@contextlib.contextmanager
def _max_jobs() -> Iterator[None]:
    """MAX_JOBS from the CPU count for the duration of the build (unless set)."""
    if 'MAX_JOBS' in os.environ:
        yield
        return
    os.environ['MAX_JOBS'] = str(max(1, len(os.sched_getaffinity(0))
                                     if hasattr(os, 'sched_getaffinity') else os.cpu_count()))
    try:
        yield
    finally:
        os.environ.pop('MAX_JOBS', None)


def _torch_lock_blocks_on_existence(cpp_extension: ModuleType) -> bool:
    """Whether this torch's cpp_extension waits while a ``lock`` file merely exists.

    Older torch uses ``FileBaton`` (waits forever on a leftover file); newer torch
    holds an OS advisory lock through ``filelock.FileLock``, whose file stays on disk
    harmlessly and must not be deleted (that would break another builder's lock).
    """
    return getattr(cpp_extension, 'FileLock', None) is None


def load_extension(spec: BuildSpec, verbose: bool = False) -> ModuleType:
    """Compile (if needed) and import the extension; compiler errors propagate.

    The compiler output of a failed build is also written to ``spec.log_file``.
    """
    from torch.utils import cpp_extension

    spec.build_dir.mkdir(parents=True, exist_ok=True)
    with BuildLock(spec.build_dir):
        torch_lock = spec.build_dir / 'lock'
        if _torch_lock_blocks_on_existence(cpp_extension) and torch_lock.exists():
            # We hold the only way in, so this FileBaton file was left behind.
            warnings.warn(f'spairkit ops: removing stale cpp_extension lock {torch_lock}',
                          RuntimeWarning, stacklevel=2)
            torch_lock.unlink()
        with _max_jobs():
            try:
                return cpp_extension.load(
                    name=spec.name,
                    sources=[str(s) for s in spec.sources],
                    build_directory=str(spec.build_dir),
                    extra_cflags=list(spec.cflags),
                    extra_cuda_cflags=list(spec.cuda_cflags),
                    extra_include_paths=[str(spec.source_dir / 'include'),
                                         str(spec.source_dir / 'kernels')],
                    with_cuda=spec.with_cuda,
                    verbose=verbose,
                )
            except Exception as exc:
                spec.log_file.write_text(f'{type(exc).__name__}: {exc}\n')
                raise


def _version_line(cmd: list[str]) -> str | None:
    exe = shutil.which(cmd[0])
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [ln for ln in (out.stdout or out.stderr).splitlines() if ln.strip()]
    if not lines:
        return None
    release = [ln for ln in lines if 'release' in ln]  # nvcc: 'Cuda compilation tools, release'
    return release[0] if Path(cmd[0]).name == 'nvcc' and release else lines[0]


def toolchain_info() -> dict[str, str | None]:
    """Versions relevant to the build; runs ``--version`` only, compiles nothing."""
    from torch.utils.cpp_extension import CUDA_HOME

    cxx = os.environ.get('CXX', 'c++')
    nvcc = str(Path(CUDA_HOME) / 'bin' / 'nvcc') if CUDA_HOME else 'nvcc'
    return {
        'python': platform.python_version(),
        'torch': torch.__version__,
        'torch CUDA': torch.version.cuda,
        'CUDA device': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        'C++ compiler': _version_line([cxx, '--version']),
        'nvcc': _version_line([nvcc, '--version']) if Path(nvcc).exists() or
        shutil.which(nvcc) else None,
        'ninja': _version_line(['ninja', '--version']),
        'CUDA_HOME': CUDA_HOME,
    }
