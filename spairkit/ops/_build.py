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
* *A CUDA build without a GPU*: pip-installed torch ships the CUDA headers and
  libraries in its ``nvidia`` wheels (``site-packages/nvidia/cu13/{include,lib}``),
  while a minimal toolkit (nvcc only) may lack headers ATen includes (``cusparse.h``)
  or the unversioned ``libcudart.so`` the linker wants. :func:`cuda_build_env`
  puts the wheel's ``include`` on ``CPATH`` and a folder of links to its
  ``lib/*.so.*`` (plus unversioned ``libcudart.so``) on ``LIBRARY_PATH``, for the
  duration of the build only; the link folder lives in the build cache, never in
  site-packages. Without a visible GPU the target architecture defaults to
  ``TORCH_CUDA_ARCH_LIST=9.0`` (:data:`DEFAULT_CUDA_ARCH`), so CI can build, link and
  import the CUDA module on a CPU-only machine.
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
    'DEFAULT_CUDA_ARCH',
    'build_spec',
    'cuda_arch_list',
    'cuda_build_env',
    'cuda_toolkit',
    'nvcc_toolkit',
    'wheel_cuda_dirs',
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

#: Target architecture of a CUDA build when no GPU is visible (H100/H200, sm_90).
DEFAULT_CUDA_ARCH = '9.0'
#: Headers ATen's CUDA headers include; a toolkit lacking one needs the wheel's.
_REQUIRED_CUDA_HEADERS = ('cuda_runtime_api.h', 'cusparse.h', 'cublas_v2.h')

_CXX_FLAGS = ('-O3',)
_CUDA_FLAGS = ('-O3', '-lineinfo')


def openmp_flags() -> tuple[str, ...]:
    """``('-fopenmp',)`` when this torch's ATen runs ``at::parallel_for`` on OpenMP.

    ``at::parallel_for`` is a header template: it is parallel only where the *including*
    file is compiled with OpenMP (``_OPENMP`` defines ``INTRA_OP_PARALLEL``); without
    the flag every kernel ran on one thread whatever ``torch.set_num_threads`` said
    (measured: 1.0x from 1 to 2 threads). Linked with the same flag, the extension
    needs ``libgomp.so.1``, which the dynamic loader resolves to the copy torch has
    already loaded (the wheel's ``torch/lib/libgomp.so.1``), so one OpenMP runtime
    serves the process.
    """
    if not torch._C.has_openmp or sys.platform == 'darwin':
        return ()
    return ('-fopenmp',)


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
    ldflags: tuple[str, ...] = field(default=())

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


def nvcc_toolkit() -> str | None:
    """CUDA_HOME when this torch is a CUDA build and nvcc is there, else None.

    Enough to *build* the CUDA kernels (``spairkit ops build --cuda``); no GPU needed.
    CUDA_HOME is torch's (``$CUDA_HOME``, else the folder above ``nvcc`` on PATH).
    """
    if torch.version.cuda is None:
        return None
    from torch.utils.cpp_extension import CUDA_HOME
    if CUDA_HOME is None:
        return None
    nvcc = Path(CUDA_HOME) / 'bin' / 'nvcc'
    return CUDA_HOME if nvcc.exists() else None


def cuda_toolkit() -> str | None:
    """CUDA_HOME when the CUDA kernels can be built *and run* here (a GPU and nvcc).

    This decides the default flavour of the lazily built extension: without a GPU the
    default build stays CPU-only (the CUDA kernels could not run anyway).
    """
    if not torch.cuda.is_available():
        return None
    return nvcc_toolkit()


def cuda_arch_list() -> str | None:
    """The TORCH_CUDA_ARCH_LIST a CUDA build uses: the environment's, else
    :data:`DEFAULT_CUDA_ARCH` when no GPU is visible, else None (torch targets the
    visible GPUs)."""
    env = os.environ.get('TORCH_CUDA_ARCH_LIST')
    if env:
        return env
    return None if torch.cuda.is_available() else DEFAULT_CUDA_ARCH


def wheel_cuda_dirs() -> tuple[list[Path], list[Path]]:
    """The ``include`` and ``lib`` folders of the CUDA wheels installed beside torch.

    CUDA 13 wheels ship one ``nvidia/cu13`` package; CUDA 12 wheels one package per
    library (``nvidia/cusparse``, ``nvidia/cuda_runtime``, ...). Both are covered by
    ``nvidia/*/{include,lib}``; the folder matching torch's CUDA major comes first.
    """
    root = Path(torch.__file__).resolve().parent.parent / 'nvidia'
    major = (torch.version.cuda or '').split('.')[0]
    pkgs = sorted((p for p in root.glob('*') if p.is_dir()),
                  key=lambda p: (p.name != f'cu{major}', p.name))
    includes = [p / 'include' for p in pkgs if (p / 'include').is_dir()]
    libs = [p / 'lib' for p in pkgs if (p / 'lib').is_dir()]
    return includes, libs


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
    cflags = _CXX_FLAGS + openmp_flags() + (('-DSPAIRKIT_WITH_CUDA',) if with_cuda else ())
    cuda_cflags = _CUDA_FLAGS + ('-DSPAIRKIT_WITH_CUDA',) if with_cuda else ()
    flavour = f'cu{torch.version.cuda}'.replace('.', '') if with_cuda else 'cpu'
    arch = (f'arch={cuda_arch_list()}',) if with_cuda else ()
    digest = _digest(source_dir, cflags + cuda_cflags + (flavour,) + arch)
    tag = f"torch{torch.__version__.replace('+', '_')}-{flavour}-{digest}"
    return BuildSpec(
        name=f'spairkit_ops_{flavour}',
        source_dir=source_dir,
        sources=_collect_sources(source_dir, with_cuda),
        build_dir=cache_root() / tag,
        with_cuda=with_cuda,
        cflags=cflags,
        cuda_cflags=cuda_cflags,
        ldflags=openmp_flags(),
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


def _prepend_env(env: dict[str, str], name: str, paths: list[Path]) -> None:
    if paths:
        parts = [str(p) for p in paths] + ([env[name]] if env.get(name) else [])
        env[name] = os.pathsep.join(parts)


def _link_folder(lib_dirs: list[Path]) -> Path:
    """A folder of links to the wheels' ``lib*.so.*`` with unversioned names added.

    The linker resolves ``-lcudart`` through ``libcudart.so``, which the wheels do
    not ship. The folder lives in the build cache (named by a hash of the library
    folders) and is (re)made idempotently, so concurrent builders agree on it.
    """
    h = hashlib.sha256('\n'.join(str(d) for d in lib_dirs).encode()).hexdigest()[:12]
    folder = cache_root() / f'cuda-wheel-libs-{h}'
    folder.mkdir(parents=True, exist_ok=True)
    links: dict[str, Path] = {}
    for lib_dir in lib_dirs:
        for lib in sorted(lib_dir.glob('lib*.so*')):
            links.setdefault(lib.name, lib)
            if '.so.' in lib.name:  # libcudart.so.13 -> also libcudart.so
                links.setdefault(lib.name.split('.so.')[0] + '.so', lib)
    for name, target in links.items():
        link = folder / name
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        tmp = folder / f'.{name}.{os.getpid()}'
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(target)
        os.replace(tmp, link)
    return folder


def cuda_build_env(toolkit: str) -> dict[str, str]:
    """The environment variables a CUDA build needs beyond the toolkit at ``toolkit``.

    ``CPATH`` gets the wheels' include folders when the toolkit lacks a header ATen
    includes, ``LIBRARY_PATH`` a link folder (:func:`_link_folder`) when the toolkit
    has no ``libcudart.so``, and ``TORCH_CUDA_ARCH_LIST`` :func:`cuda_arch_list` when
    unset. Returns only the variables to change (values include what was set before).
    """
    env: dict[str, str] = {}
    home = Path(toolkit)
    includes, libs = wheel_cuda_dirs()
    if any(not (home / 'include' / h).is_file() for h in _REQUIRED_CUDA_HEADERS):
        found = [d for d in includes if any((d / h).is_file() for h in _REQUIRED_CUDA_HEADERS)]
        if found:
            env['CPATH'] = os.environ.get('CPATH', '')
            _prepend_env(env, 'CPATH', found)
    if not any((home / d / 'libcudart.so').exists() for d in ('lib64', 'lib')):
        with_rt = [d for d in libs if any(d.glob('libcudart.so*'))]
        if with_rt:
            env['LIBRARY_PATH'] = os.environ.get('LIBRARY_PATH', '')
            _prepend_env(env, 'LIBRARY_PATH', [_link_folder(libs)])
    arch = cuda_arch_list()
    if arch and not os.environ.get('TORCH_CUDA_ARCH_LIST'):
        env['TORCH_CUDA_ARCH_LIST'] = arch
    return {k: v for k, v in env.items() if v}


@contextlib.contextmanager
def _scoped_env(changes: dict[str, str]) -> Iterator[None]:
    """Set ``changes`` in os.environ for the duration of the build, then restore."""
    before = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


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
        env: dict[str, str] = {}
        if spec.with_cuda:
            toolkit = nvcc_toolkit()
            if toolkit is None:
                raise FileNotFoundError(
                    'a CUDA build needs a CUDA build of torch and nvcc (set CUDA_HOME to '
                    'the CUDA toolkit, or put nvcc on PATH)')
            env = cuda_build_env(toolkit)
        with _max_jobs(), _scoped_env(env):
            try:
                return cpp_extension.load(
                    name=spec.name,
                    sources=[str(s) for s in spec.sources],
                    build_directory=str(spec.build_dir),
                    extra_cflags=list(spec.cflags),
                    extra_cuda_cflags=list(spec.cuda_cflags),
                    extra_ldflags=list(spec.ldflags),
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
