"""Config resolution, _base_ inheritance and --cfg-options."""
from __future__ import annotations

import argparse
import os
import sys
import threading

import pytest
from mmengine.config import Config

from spairkit.cli.main import main
from spairkit.config import load_config, parse_cfg_option, resolve_config_path
from spairkit.errors import ConfigError
from spairkit.registry import TASKS
from spairkit.tasks import Task
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


# -- spairkit:: and <package>:: bases from any config (issue 12, item 1) -------------------
SPAIR_BASES = """_base_ = [
    'spairkit::_base_/models/spair.py',
    'spairkit::rain_streak/_base_/datasets/rain_streak_synthetic.py',
    'spairkit::_base_/schedules/adam_1e-4.py',
    'spairkit::_base_/default_runtime.py',
]
model = dict(netr=dict(base_channels=8))
"""


def test_config_outside_the_repo_inherits_packaged_bases(tmp_path):
    path = tmp_path / 'mine.py'
    path.write_text(SPAIR_BASES)
    cfg = load_config(path)
    assert cfg.model.type == 'SPAIR' and cfg.model.netr.base_channels == 8
    assert cfg.model.netr.decoder_blocks[1].type == 'SparseNonLocal'  # from the base
    assert cfg.runner_type == 'SpairkitRunner'
    assert cfg.train_dataloader.dataset.degradation.type == 'RainStreakSynthesizer'
    assert cfg.optim_wrapper.optimizer.lr == 1e-4


def test_task_configs_resolve_through_their_plugin():
    plugin = REPO / 'plugins' / 'rain_streak' / 'configs'
    assert resolve_config_path('spairkit::rain_streak/spair_synthetic.py').samefile(
        plugin / 'spair_synthetic.py')
    # Old names keep resolving after the files moved into the plugin.
    assert resolve_config_path('spairkit::_base_/datasets/rain_streak_synthetic.py').samefile(
        plugin / '_base_' / 'datasets' / 'rain_streak_synthetic.py')
    assert resolve_config_path('spairkit::spair/spair.py').samefile(
        plugin / 'spair' / 'spair.py')


def test_missing_packaged_base_names_the_base_and_its_config(tmp_path):
    path = tmp_path / 'mine.py'
    path.write_text("_base_ = ['spairkit::_base_/models/nope.py']\nmodel = dict()\n")
    with pytest.raises(ConfigError, match=r"models/nope.py.*a _base_ of .*mine.py"):
        load_config(path)


def test_missing_relative_base_names_the_base(tmp_path):
    path = tmp_path / 'mine.py'
    path.write_text("_base_ = ['./gone.py']\nmodel = dict()\n")
    with pytest.raises(ConfigError, match=r"not found: ./gone.py \(a _base_ of .*mine.py\)"):
        load_config(path)


def test_mmengine_is_unchanged_after_a_spairkit_load(tmp_path):
    before = Config.__dict__['_get_cfg_path']
    path = tmp_path / 'mine.py'
    path.write_text(SPAIR_BASES)
    load_config(path)
    assert Config.__dict__['_get_cfg_path'] is before
    # MMEngine's own loader still treats spairkit:: as it always did (it refuses it).
    with pytest.raises(Exception) as info:
        Config.fromfile(str(path))
    assert not isinstance(info.value, ConfigError)
    assert 'spairkit' in str(info.value)


def test_a_failed_load_also_restores_mmengine(tmp_path):
    before = Config.__dict__['_get_cfg_path']
    path = tmp_path / 'bad.py'
    path.write_text("_base_ = ['spairkit::_base_/nope.py']\n")
    with pytest.raises(ConfigError):
        load_config(path)
    assert Config.__dict__['_get_cfg_path'] is before


def test_other_threads_keep_mmengines_resolution_during_a_spairkit_load(tmp_path):
    """While spairkit loads (hook installed), another thread asking MMEngine to resolve a
    base gets MMEngine's own answer; only the loading thread gets spairkit's."""
    from spairkit.config import _spairkit_bases

    answers = {}

    def resolve(key):
        try:
            answers[key] = Config._get_cfg_path('spairkit::_base_/default_runtime.py',
                                                str(tmp_path / 'x.py'))
        except Exception as exc:  # noqa: BLE001 - which loader answered is the point
            answers[key] = exc

    with _spairkit_bases([]):
        resolve('loading thread')
        thread = threading.Thread(target=resolve, args=('other thread',))
        thread.start()
        thread.join(timeout=60)
    path, scope = answers['loading thread']
    assert os.path.samefile(path, REPO / 'configs' / '_base_' / 'default_runtime.py')
    assert isinstance(answers['other thread'], Exception)
    assert not isinstance(answers['other thread'], ConfigError)


# -- issue 17: spairkit:: paths stay inside the packaged configs; broken files named -------
def _escape_path(tmp_path):
    """A ``spairkit::../..`` path that would reach a file in ``tmp_path``."""
    target = tmp_path / 'evil.py'
    marker = tmp_path / 'ran'
    target.write_text(f"open({str(marker)!r}, 'w').close()\nmodel = dict(type='SPAIR')\n")
    rel = os.path.relpath(target, REPO / 'configs')
    return 'spairkit::' + rel, marker


def test_spairkit_path_cannot_leave_the_packaged_configs(tmp_path):
    text, marker = _escape_path(tmp_path)
    with pytest.raises(ConfigError, match='leaves the packaged configs'):
        resolve_config_path(text)
    for bad in ('spairkit::../../x.py', 'spairkit::/etc/hostname', 'spairkit::a/../../x.py'):
        with pytest.raises(ConfigError, match='leaves the packaged configs'):
            resolve_config_path(bad)
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = [{text!r}]\n")
    with pytest.raises(ConfigError, match='leaves the packaged configs'):
        load_config(child)
    assert not marker.exists()  # never executed


def test_cli_refuses_an_escaping_spairkit_path_in_one_line(tmp_path, capsys):
    text, marker = _escape_path(tmp_path)
    assert main(['train', text, '--work-dir', str(tmp_path / 'w')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'leaves the packaged configs' in err
    assert main(['train', 'spairkit::../../x.py']) == 2
    assert not marker.exists()


@pytest.mark.parametrize('where', ['top', 'base'])
def test_runtime_error_in_a_config_names_the_file_and_line(tmp_path, capsys, where):
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(type="SPAIR")\nx = 1/0\n')
    path = broken
    if where == 'base':
        path = tmp_path / 'child.py'
        path.write_text("_base_ = ['./broken.py']\n")
    with pytest.raises(ConfigError, match=r'broken.py, line 2: ZeroDivisionError'):
        load_config(path)
    assert main(['train', str(path), '--work-dir', str(tmp_path / 'w')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'broken.py, line 2' in err


@pytest.mark.parametrize('where', ['top', 'base'])
def test_non_utf8_config_names_the_file(tmp_path, capsys, where):
    broken = tmp_path / 'latin.py'
    broken.write_bytes(b"model = dict(type='SPAIR')  # caf\xe9\n")
    path = broken
    if where == 'base':
        path = tmp_path / 'child.py'
        path.write_text("_base_ = ['./latin.py']\n")
    with pytest.raises(ConfigError, match=r'latin.py.* is not UTF-8 text: byte 0xe9'):
        load_config(path)
    assert main(['train', str(path), '--work-dir', str(tmp_path / 'w')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'latin.py' in err and 'UTF-8' in err


# -- a plugin's own <package>:: paths ------------------------------------------------------
@pytest.fixture
def fog_plugin(tmp_path, monkeypatch):
    """A task 'fog' whose configs live in the importable package fog_kit.configs."""
    pkg = tmp_path / 'fog_kit'
    (pkg / 'configs' / '_base_').mkdir(parents=True)
    (pkg / '__init__.py').write_text('')
    (pkg / 'configs' / '__init__.py').write_text('')
    (pkg / 'configs' / '_base_' / 'data.py').write_text("task = 'fog'\n")
    (pkg / 'configs' / 'spair_fog.py').write_text(
        "_base_ = ['spairkit::_base_/models/spair.py', './_base_/data.py']\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class FogTask(Task):
        name = 'fog'
        description = 'test task with a config package'
        datasets = {'folder': 'PairedFolderDataset'}
        default_layout = 'folder'
        mask_threshold = 0.05
        synthesizer = {'type': 'ShadowSynthesizer'}
        protocols = {'folder': 'gopro_rgb'}
        configs = {'netl_synthetic': 'fog_kit::spair_fog.py',
                   'spair_synthetic': 'fog_kit::spair_fog.py'}
        config_package = 'fog_kit.configs'
        batch_size = 2

    TASKS.register_module(name='fog', module=FogTask)
    yield pkg
    TASKS.module_dict.pop('fog', None)
    sys.modules.pop('fog_kit', None)
    sys.modules.pop('fog_kit.configs', None)


def test_plugin_package_paths_resolve_in_its_config_package(fog_plugin, tmp_path):
    target = fog_plugin / 'configs' / 'spair_fog.py'
    assert resolve_config_path('fog_kit::spair_fog.py').samefile(target)
    assert resolve_config_path('spairkit::fog/spair_fog.py').samefile(target)
    cfg = load_config('fog_kit::spair_fog.py')
    assert cfg.task == 'fog' and cfg.model.type == 'SPAIR'
    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['fog_kit::spair_fog.py']\nmodel = dict(stage='localizer')\n")
    assert load_config(child).model.stage == 'localizer'
    with pytest.raises(ConfigError, match='leaves the packaged configs'):
        resolve_config_path('fog_kit::../__init__.py')
    with pytest.raises(ConfigError, match="declares a config package in 'nokit'"):
        resolve_config_path('nokit::x.py')
