"""A regular (non-editable) install carries the mapped folders, configs, kernel sources and
entry points, and works from outside the repository."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile

import pytest

from tests.conftest import REPO


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp('wheel')
    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q',
         '-w', str(out), str(REPO)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    (path,) = out.glob('spairkit-*.whl')
    return path


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {n.split('/')[0] for n in names}
    assert 'spairkit' in tops
    assert all(t == 'spairkit' or t.endswith('.dist-info') for t in tops), tops  # no bare
    for folder in (REPO / 'plugins').iterdir():  # every plugin folder, found not listed
        if (folder / '__init__.py').is_file():
            assert f'spairkit/plugins/{folder.name}/__init__.py' in names
    for probe in ('spairkit/registry/__init__.py',
                  'spairkit/plugins/rain_streak/configs/spair/spair.py',
                  'spairkit/plugins/rain_streak/configs/_base_/datasets/synthetic_rain.py',
                  'spairkit/configs/_base_/default_runtime.py',
                  'spairkit/ops/csrc/bindings/module.cpp'):
        assert probe in names, probe
    entry_points = next(n for n in names if n.endswith('entry_points.txt'))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert '[spairkit.plugins]' in text and 'spairkit = spairkit.cli.main:main' in text


def test_installed_wheel_works_outside_the_repo(wheel, tmp_path):
    target = tmp_path / 'site'
    result = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q',
                             '--target', str(target), str(wheel)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    code = textwrap.dedent("""
        import spairkit, spairkit.registry as r
        from spairkit.config import resolve_config_path
        from spairkit.ops._build import find_source_dir
        from spairkit.tasks import get_task
        print(spairkit.__file__)
        print(resolve_config_path('spairkit::spair/spair.py'))
        print(find_source_dir())
        print(get_task('raindrop').name)
        from spairkit.config import load_config
        print(resolve_config_path('spairkit::rain_streak/spair_synthetic.py'))
        cfg = load_config('spairkit::raindrop/netl_synthetic.py')  # plugin config, core bases
        print(cfg.model.type, cfg.train_dataloader.dataset.degradation.type)
    """)
    run = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={'PYTHONPATH': str(target),
                                                      'PATH': '/usr/bin:/bin'})
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.split()
    assert all(line.startswith(str(target)) for line in lines[:3]), lines
    assert lines[3] == 'raindrop'
    # The plugins' configs are in the wheel and resolve from the installed copy.
    assert lines[4].startswith(str(target)) and lines[4].endswith(
        'spairkit/plugins/rain_streak/configs/spair_synthetic.py'), lines
    assert lines[5:7] == ['SPAIR', 'RaindropSynthesizer'], lines
