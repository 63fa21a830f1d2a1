"""Every command's --help, and the one-line errors for user mistakes."""
from __future__ import annotations

import pytest

from spairkit.cli.main import command_modules, main
from tests.conftest import TOY_DIR

TOY = TOY_DIR / 'toy_config.py'


@pytest.mark.parametrize('name', sorted(command_modules()))
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, '--help'])
    assert exc.value.code == 0
    assert 'usage: spairkit' in capsys.readouterr().out


def test_core_commands_exist():
    assert {'train', 'test', 'list', 'ops'} <= set(command_modules())


def _one_line_error(result, *needles):
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert 'Traceback' not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_config(cli, tmp_path):
    _one_line_error(cli('train', tmp_path / 'nope.py'), 'config file not found', 'nope.py')


def test_unknown_type_names_registry_and_closest(cli, toy_env, tmp_path):
    result = cli('train', TOY, '--work-dir', tmp_path, '--cfg-options', 'model.type=ToyRestorr',
                 env=toy_env)
    _one_line_error(result, "unknown type 'ToyRestorr'", 'spairkit::model', "'ToyRestorer'")


def test_unknown_argument_names_component_and_key(cli, toy_env, tmp_path):
    result = cli('train', TOY, '--work-dir', tmp_path, '--cfg-options', 'model.widht=3',
                 env=toy_env)
    _one_line_error(result, 'ToyRestorer', "'widht'")


def test_bad_cfg_options_pair(cli, tmp_path):
    result = cli('train', TOY, '--cfg-options', 'train_cfg.max_iters')
    assert result.returncode == 2
    assert 'bad --cfg-options pair' in result.stderr


def test_missing_checkpoint(cli, toy_env, tmp_path):
    result = cli('test', TOY, tmp_path / 'missing.pth', '--work-dir', tmp_path, env=toy_env)
    _one_line_error(result, 'checkpoint not found', 'missing.pth')


def test_unknown_registry_in_list(cli):
    _one_line_error(cli('list', 'modles'), "unknown registry 'modles'", 'models')


def test_debug_shows_traceback(cli, tmp_path):
    result = cli('train', tmp_path / 'nope.py', '--debug')
    assert result.returncode != 0
    assert 'Traceback' in result.stderr


def test_env_debug_shows_traceback(cli, tmp_path):
    result = cli('train', tmp_path / 'nope.py', env={'SPAIRKIT_DEBUG': '1'})
    assert 'Traceback' in result.stderr
