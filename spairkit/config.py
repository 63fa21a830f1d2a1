"""Config loading: ``spairkit::`` paths, ``--cfg-options`` and clear errors.

MMEngine resolves ``package::path`` only for OpenMMLab packages installed with
their ``.mim`` folder. spairkit ships its configs as the package
``spairkit.configs`` (the repository's ``configs/``), so ``spairkit::spair/spair.py``
is resolved here, for both regular and editable installs.
"""
from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path
from typing import Any

from mmengine.config import Config, DictAction

from spairkit.errors import ConfigError

PACKAGE_PREFIX = 'spairkit::'


def packaged_config_root() -> Path:
    """Folder that holds the packaged configs (``configs/`` of the repository)."""
    return Path(str(resources.files('spairkit.configs')))


def resolve_config_path(path: str | Path) -> Path:
    """A user-given config path -> an existing file; ``spairkit::x.py`` is packaged."""
    text = str(path)
    if text.startswith(PACKAGE_PREFIX):
        resolved = packaged_config_root() / text[len(PACKAGE_PREFIX):]
    else:
        resolved = Path(text).expanduser()
    if not resolved.is_file():
        raise ConfigError(f'config file not found: {text}')
    return resolved


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


def load_config(path: str | Path, cfg_options: list[tuple[str, Any]] | None = None) -> Config:
    """Load a config file, apply overrides and check it is usable."""
    resolved = resolve_config_path(path)
    try:
        cfg = Config.fromfile(str(resolved))
    except (SyntaxError, NameError, ImportError, FileNotFoundError) as exc:
        raise ConfigError(f'cannot load config {path}: {type(exc).__name__}: {exc}') from exc
    if cfg_options:
        try:
            cfg.merge_from_dict(dict(cfg_options))
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(f'cannot apply --cfg-options to {path}: {exc}') from exc
    if 'model' not in cfg:
        raise ConfigError(f"config {path} defines no 'model'")
    cfg.setdefault('default_scope', 'spairkit')
    return cfg
