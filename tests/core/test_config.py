"""Config resolution, _base_ inheritance and --cfg-options."""
from __future__ import annotations

import argparse

import pytest

from spairkit.config import load_config, parse_cfg_option, resolve_config_path
from spairkit.errors import ConfigError
from tests.conftest import REPO, TOY_DIR


def test_packaged_path_resolves_to_configs_folder():
    path = resolve_config_path('spairkit::_base_/default_runtime.py')
    assert path.samefile(REPO / 'configs' / '_base_' / 'default_runtime.py')


def test_missing_packaged_path_is_a_config_error():
    with pytest.raises(ConfigError, match='spairkit::nope.py'):
        resolve_config_path('spairkit::nope.py')


@pytest.fixture(autouse=True)
def _toy_importable(monkeypatch):
    # The toy configs' custom_imports are imported while loading them.
    monkeypatch.syspath_prepend(str(TOY_DIR))


def test_inheritance_and_overrides():
    cfg = load_config(TOY_DIR / 'toy_config.py',
                      [parse_cfg_option('train_cfg.max_iters=3'),
                       parse_cfg_option('model.width=[4,5]')])
    assert cfg.runner_type == 'SpairkitRunner'          # from _base_/default_runtime.py
    assert cfg.default_scope == 'spairkit'
    assert cfg.default_hooks.checkpoint.interval == 2   # child overrides one key ...
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook'  # ... and keeps the rest
    assert cfg.train_cfg.max_iters == 3
    assert cfg.model.width == [4, 5]


def test_child_config_inherits_parent(tmp_path):
    cfg = load_config(TOY_DIR / 'toy_config_kill.py')
    assert cfg.custom_hooks[0].type == 'ToyKillHook'
    assert cfg.model.type == 'ToyRestorer'


@pytest.mark.parametrize('text,expected', [
    ('a.b=1', ('a.b', 1)), ('a=0.5', ('a', 0.5)), ('a=True', ('a', True)),
    ('a=x', ('a', 'x')), ('a=[1,2]', ('a', [1, 2])), ('a=(1,2)', ('a', (1, 2))),
    ('a=b=c', ('a', 'b=c')),
])
def test_parse_cfg_option(text, expected):
    assert parse_cfg_option(text) == expected


@pytest.mark.parametrize('text', ['novalue', '=3', 'a b=1'])
def test_bad_cfg_option(text):
    with pytest.raises(argparse.ArgumentTypeError, match='bad --cfg-options'):
        parse_cfg_option(text)


def test_config_without_model(tmp_path):
    path = tmp_path / 'empty.py'
    path.write_text('x = 1\n')
    with pytest.raises(ConfigError, match="defines no 'model'"):
        load_config(path)


def test_config_with_syntax_error(tmp_path):
    path = tmp_path / 'broken.py'
    path.write_text('model = dict(\n')
    with pytest.raises(ConfigError, match='broken.py'):
        load_config(path)
