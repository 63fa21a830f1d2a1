"""Registry scoping, lazy locations, the bare-name guard and entry-point plugins."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

from mmengine.registry import MODELS as MMENGINE_MODELS

from spairkit.registry import ALL_REGISTRIES, DEGRADATIONS, MODELS, SCOPE, TASKS
from spairkit.registry.plugin_loader import EntryPointPlugins, PluginLoadWarning
from tests.conftest import REPO


def _python(code: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, **kwargs)


def test_scope_and_parents():
    assert SCOPE == 'spairkit'
    for registry in ALL_REGISTRIES.values():
        assert registry.scope == 'spairkit'
    assert MODELS.parent is MMENGINE_MODELS
    assert MMENGINE_MODELS._search_child('spairkit') is MODELS
    assert TASKS.parent is None and DEGRADATIONS.parent is None


def test_importing_registry_imports_no_component():
    result = _python("""
        import sys
        import spairkit.registry
        heavy = [m for m in sys.modules if m.startswith(('spairkit.models', 'spairkit.datasets',
                 'spairkit.evaluation', 'spairkit.plugins.', 'spairkit.ops'))]
        print(heavy)
        spairkit.registry.MODELS.get('SPAIR')
        print('spairkit.models' in sys.modules)
    """)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()[-2:]
    assert first == '[]'
    assert second == 'True'


def test_bare_folder_import_fails_loudly():
    for name in ('registry', 'plugins'):
        result = _python(f'import {name}', cwd=REPO)
        assert result.returncode != 0
        assert f"import it as 'spairkit.{name}'" in result.stderr


def _fake_distribution(root, entry_points: str, modules: dict[str, str]):
    dist = root / 'fakeplugins-0.1.dist-info'
    dist.mkdir()
    (dist / 'METADATA').write_text('Metadata-Version: 2.1\nName: fakeplugins\nVersion: 0.1\n')
    (dist / 'entry_points.txt').write_text(entry_points)
    for name, source in modules.items():
        (root / f'{name}.py').write_text(textwrap.dedent(source))


GOOD = """
    import torch
    from spairkit.registry import MODELS

    @MODELS.register_module()
    class FakePluginNet(torch.nn.Module):
        pass
"""
BAD = "raise RuntimeError('boom in plugin')\n"


def test_entry_point_plugins_are_found_and_broken_ones_warn(tmp_path):
    _fake_distribution(tmp_path, '[spairkit.plugins]\ngood = goodplug\nbad = badplug\n',
                       {'goodplug': GOOD, 'badplug': BAD})
    result = _python("""
        from spairkit.registry import MODELS
        from spairkit.registry.plugin_loader import PLUGINS
        print(MODELS.get('FakePluginNet').__module__)
        print(sorted(PLUGINS.failed))
    """, env={'PYTHONPATH': str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['goodplug', "['bad']"]
    warning_lines = [line for line in result.stderr.splitlines() if 'boom in plugin' in line]
    assert len(warning_lines) == 1
    assert "plugin 'bad'" in warning_lines[0]


def test_spairkit_list_shows_plugin_component_and_its_module(tmp_path):
    _fake_distribution(tmp_path, '[spairkit.plugins]\ngood = goodplug\n', {'goodplug': GOOD})
    result = subprocess.run([sys.executable, '-m', 'spairkit.cli.main', 'list', 'models'],
                            capture_output=True, text=True, timeout=120,
                            env={'PYTHONPATH': str(tmp_path), 'PATH': '/usr/bin:/bin'})
    assert result.returncode == 0, result.stderr
    assert 'FakePluginNet' in result.stdout
    assert 'goodplug.FakePluginNet' in result.stdout


def test_loader_loads_once(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, '[spairkit.fake_group]\nbad = badplug2\n', {'badplug2': BAD})
    monkeypatch.syspath_prepend(str(tmp_path))
    loader = EntryPointPlugins(group='spairkit.fake_group')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        loader.load_all()
        loader.load_all()
    assert [w.category for w in caught] == [PluginLoadWarning]
    assert 'boom in plugin' in loader.failed['bad']


def test_custom_imports_in_config_registers_components(cli, toy_env, tmp_path):
    result = cli('train', REPO / 'tests/core/toy/toy_config.py', '--work-dir', tmp_path,
                 '--cfg-options', 'train_cfg.max_iters=1', 'train_cfg.val_interval=1',
                 env=toy_env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / 'iter_1.pth').is_file()


FOG = "import spairkit_fog_missing_dependency  # noqa: F401\n"


def test_unknown_type_errors_name_the_plugin_that_failed_to_import(tmp_path):
    """A plugin that fails to import is named in the later 'unknown type' errors, both
    for a config's type and for a task name, not only in a warning."""
    _fake_distribution(tmp_path, '[spairkit.plugins]\nfog = fogplug\n', {'fogplug': FOG})
    config = tmp_path / 'fog.py'
    config.write_text("_base_ = ['spairkit::_base_/default_runtime.py']\n"
                      "model = dict(type='FogNet')\n")
    env = {'PYTHONPATH': str(tmp_path), 'PATH': '/usr/bin:/bin', 'OMP_NUM_THREADS': '1'}
    note = ("plugin 'fog' failed to import: ModuleNotFoundError: No module named "
            "'spairkit_fog_missing_dependency'")
    train = subprocess.run([sys.executable, '-m', 'spairkit.cli.main', 'train', str(config),
                            '--work-dir', str(tmp_path / 'w')],
                           capture_output=True, text=True, timeout=120, env=env)
    assert train.returncode == 2, train.stderr
    error = [ln for ln in train.stderr.splitlines() if 'error:' in ln]
    assert len(error) == 1 and "'FogNet'" in error[0] and note in error[0], train.stderr
    synth = subprocess.run([sys.executable, '-m', 'spairkit.cli.main', 'synth', 'fog',
                            '--src', str(tmp_path), '--out', str(tmp_path / 'o')],
                           capture_output=True, text=True, timeout=120, env=env)
    assert synth.returncode == 2
    error = [ln for ln in synth.stderr.splitlines() if 'error:' in ln]
    assert len(error) == 1 and "unknown task 'fog'" in error[0] and note in error[0], \
        synth.stderr
