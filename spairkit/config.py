"""Config loading: ``spairkit::`` and plugin ``<package>::`` paths, ``--cfg-options``, clear errors.

Where config paths resolve
    ``spairkit::<path>`` names a file of spairkit's packaged configs (the repository's
    ``configs/``, installed as ``spairkit.configs``: task-agnostic model, schedule,
    runtime and synthetic-pair bases, and the demo). A path that is not there falls
    through to the config folders of the registered tasks (:attr:`Task.config_package
    <spairkit.tasks.Task.config_package>`): ``spairkit::rain_streak/spair_synthetic.py``
    is ``spair_synthetic.py`` of the ``rain_streak`` task's folder (first component =
    a task name), and any other path is looked up in every task's folder and must exist
    in exactly one (so ``spairkit::spair/spair.py`` and the old
    ``spairkit::_base_/datasets/rain_streak_synthetic.py`` still resolve after those
    files moved into ``plugins/rain_streak/configs/``). ``<package>::<path>`` (e.g.
    ``spairkit_haze::spair_haze_synthetic.py``) resolves in the config folder of the
    task(s) whose ``config_package`` lives in the importable package ``<package>``.
    A resolved path must stay inside the folder it was resolved in: ``..`` or an
    absolute path that leaves it is refused.

Why a hook
    MMEngine 0.10 resolves ``pkg::path`` inside ``_base_`` only for OpenMMLab packages
    installed with a ``.mim`` folder, through the static method
    ``Config._get_cfg_path`` (called by name from its recursive ``_file2dict``, so a
    subclass cannot override it). :func:`load_config` therefore replaces that one
    method for the duration of its own ``Config.fromfile`` call only, under a lock,
    and the replacement answers only calls from the loading thread; every other
    ``pkg::`` prefix and every other thread goes to MMEngine's own method, which is
    put back when the load ends. Nothing else of MMEngine is touched.

Errors (:class:`~spairkit.errors.ConfigError`, exit code 2) name the file at fault:
a missing base names the base and the config that asked for it; a config that is not
UTF-8, that fails while executing (``1/0``) or has a syntax error names that file.
"""
from __future__ import annotations

import argparse
import contextlib
import threading
import traceback
from collections.abc import Iterator
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from mmengine.config import Config, DictAction

from spairkit.errors import ConfigError

PACKAGE = 'spairkit'
PACKAGE_PREFIX = 'spairkit::'
#: Serialises spairkit's config loads while MMEngine's ``_get_cfg_path`` is replaced.
_LOAD_LOCK = threading.RLock()


def packaged_config_root() -> Path:
    """Folder that holds the packaged configs (``configs/`` of the repository)."""
    return Path(str(resources.files('spairkit.configs')))


def _package_root(package: str, owner: str) -> Path:
    try:
        return Path(str(resources.files(package)))
    except (ModuleNotFoundError, TypeError) as exc:
        raise ConfigError(f'{owner}: config package {package!r} cannot be imported: '
                          f'{exc}') from exc


def task_config_roots() -> dict[str, Path | ConfigError]:
    """Task name -> folder of its configs, for every registered task that declares one.

    A declared package that cannot be imported maps to the :class:`ConfigError` saying
    so: it is raised only when a path needs that task's folder.
    """
    from spairkit.tasks import all_tasks

    roots: dict[str, Path | ConfigError] = {}
    for task in all_tasks():
        if task.config_package:
            try:
                roots[task.name] = _package_root(task.config_package, f"task '{task.name}'")
            except ConfigError as exc:
                roots[task.name] = exc
    return roots


def plugin_config_roots(package: str) -> list[Path]:
    """Config folders declared by tasks whose ``config_package`` is in ``package``."""
    from spairkit.tasks import all_tasks

    roots = []
    for task in all_tasks():
        declared = task.config_package
        if declared and (declared == package or declared.startswith(package + '.')):
            root = _package_root(declared, f"task '{task.name}'")
            if root not in roots:
                roots.append(root)
    return roots


def _inside(root: Path, relative: str, text: str) -> Path:
    """``root / relative``, refusing any path that leaves ``root``."""
    pure = PurePosixPath(relative.replace('\\', '/'))
    if pure.is_absolute() or '..' in pure.parts or not pure.parts:
        raise ConfigError(f'config path {text!r} leaves the packaged configs: the part after '
                          "'::' must be a relative path inside them, without '..'")
    candidate = root / pure
    resolved, top = candidate.resolve(), root.resolve()
    if candidate.exists() and not resolved.is_relative_to(top):  # a link pointing out
        raise ConfigError(f'config path {text!r} resolves to {resolved}, outside {top}')
    return candidate


def _resolve_spairkit(relative: str, text: str) -> Path | None:
    core = _inside(packaged_config_root(), relative, text)
    if core.is_file():
        return core
    roots = task_config_roots()
    head, _, rest = relative.partition('/')
    if head in roots and rest:
        if isinstance(roots[head], ConfigError):
            raise roots[head]
        candidate = _inside(roots[head], rest, text)
        if candidate.is_file():
            return candidate
    usable = [root for root in roots.values() if isinstance(root, Path)]
    hits = [p for p in (_inside(root, relative, text) for root in usable) if p.is_file()]
    if not hits and len(usable) < len(roots):
        broken = '; '.join(str(r) for r in roots.values() if isinstance(r, ConfigError))
        raise ConfigError(f'config file not found: {text} (not in the packaged configs nor '
                          f'in the configs of the tasks that load; {broken})')
    if len(hits) > 1:
        raise ConfigError(f'config path {text!r} is ambiguous: it exists in the configs of '
                          f'several tasks ({", ".join(str(h) for h in hits)}); name the task '
                          "as 'spairkit::<task>/...'")
    return hits[0] if hits else None


def is_spairkit_config_prefix(prefix: str) -> bool:
    """Whether spairkit (rather than MMEngine) resolves ``<prefix>::`` paths."""
    return prefix == PACKAGE or bool(plugin_config_roots(prefix))


def resolve_config_path(path: str | Path) -> Path:
    """A user-given config path -> an existing file (``spairkit::``/``<package>::`` packaged)."""
    text = str(path)
    prefix, sep, relative = text.partition('::')
    if not sep:
        resolved = Path(text).expanduser()
        if not resolved.is_file():
            raise ConfigError(f'config file not found: {text}')
        return resolved
    if prefix == PACKAGE:
        found = _resolve_spairkit(relative, text)
        if found is None:
            raise ConfigError(f'config file not found: {text} (looked in spairkit\'s packaged '
                              "configs and in every task's configs)")
        return found
    roots = plugin_config_roots(prefix)
    if not roots:
        raise ConfigError(f"config file not found: {text}: no registered task declares a "
                          f"config package in {prefix!r} (Task.config_package); spairkit "
                          f"resolves 'spairkit::' and those")
    for root in roots:
        candidate = _inside(root, relative, text)
        if candidate.is_file():
            return candidate
    raise ConfigError(f'config file not found: {text} (looked in '
                      f'{", ".join(str(r) for r in roots)})')


def _check_text(path: Path, owner: str) -> None:
    """A config must be UTF-8 text: say which file is not (MMEngine would not)."""
    try:
        path.read_bytes().decode('utf-8')
    except UnicodeDecodeError as exc:
        raise ConfigError(f'config {path}{owner} is not UTF-8 text: byte '
                          f'0x{exc.object[exc.start]:02x} at offset {exc.start}') from None
    except OSError as exc:
        raise ConfigError(f'cannot read config {path}{owner}: {exc.strerror or exc}') from None


@contextlib.contextmanager
def _spairkit_bases(loaded: list[str]) -> Iterator[None]:
    """Let MMEngine's ``_base_`` handling resolve spairkit's paths during one load.

    ``loaded`` collects every file read, so an error can name the one at fault.
    """
    with _LOAD_LOCK:
        original = Config.__dict__['_get_cfg_path']
        owner = threading.get_ident()

        def get_cfg_path(cfg_path: str, filename: str):
            if threading.get_ident() != owner:
                return original.__func__(cfg_path, filename)
            including = f' (a _base_ of {filename})'
            prefix, sep, _ = cfg_path.partition('::')
            if sep and not is_spairkit_config_prefix(prefix):
                return original.__func__(cfg_path, filename)
            if sep:
                try:
                    path = resolve_config_path(cfg_path)
                except ConfigError as exc:
                    raise ConfigError(f'{exc}{including}') from None
            else:
                path = Path(filename).parent / cfg_path
                if not path.is_file():
                    raise ConfigError(f'config file not found: {cfg_path}{including}')
            _check_text(path, including)
            loaded.append(str(Path(path).absolute()))
            return str(path), None

        Config._get_cfg_path = staticmethod(get_cfg_path)
        try:
            yield
        finally:
            Config._get_cfg_path = original


def _where(exc: BaseException, loaded: list[str]) -> str:
    """``file, line N`` of the innermost config frame of ``exc``'s traceback, if any."""
    files = set(loaded)
    hit = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if str(Path(frame.filename).absolute()) in files:
            hit = frame
    return f'{hit.filename}, line {hit.lineno}' if hit else loaded[0]


def parse_cfg_option(text: str) -> tuple[str, Any]:
    """Parse one ``key=value`` of ``--cfg-options`` (values as MMEngine's DictAction)."""
    key, sep, value = text.partition('=')
    if not sep or not key or any(ch.isspace() for ch in key):
        raise argparse.ArgumentTypeError(
            f"bad --cfg-options pair {text!r}: expected key=value, e.g. train_cfg.max_iters=100")
    try:
        parsed = DictAction._parse_iterable(value)
    except Exception as exc:  # noqa: BLE001 - DictAction raises assorted errors
        raise argparse.ArgumentTypeError(f'bad --cfg-options value in {text!r}: {exc}') from exc
    return key, parsed


def add_cfg_options_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--cfg-options', nargs='+', type=parse_cfg_option, default=[], metavar='KEY=VALUE',
        help='override config keys, e.g. train_cfg.max_iters=100 model.stage=restorer')


def read_config(path: str | Path) -> Config:
    """Load a config file (any ``_base_`` spairkit resolves), without checking its content."""
    resolved = resolve_config_path(path)
    _check_text(resolved, '')
    loaded = [str(resolved.absolute())]
    try:
        with _spairkit_bases(loaded):
            return Config.fromfile(str(resolved))
    except ConfigError:
        raise
    except SyntaxError as exc:  # MMEngine's message already names the file
        detail = str(exc).strip().splitlines()[0]
        raise ConfigError(f'cannot load config {path}: SyntaxError: {detail}') from exc
    except Exception as exc:  # noqa: BLE001 - a config is a program: anything can fail
        detail = (str(exc).strip().splitlines() or [''])[0]
        raise ConfigError(f'cannot load config {path}: error in {_where(exc, loaded)}: '
                          f'{type(exc).__name__}: {detail}') from exc


def load_config(path: str | Path, cfg_options: list[tuple[str, Any]] | None = None) -> Config:
    """Load a config file, apply overrides and check it is usable."""
    cfg = read_config(path)
    if cfg_options:
        try:
            cfg.merge_from_dict(dict(cfg_options))
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(f'cannot apply --cfg-options to {path}: {exc}') from exc
    if 'model' not in cfg:
        raise ConfigError(f"config {path} defines no 'model'")
    cfg.setdefault('default_scope', 'spairkit')
    return cfg
