"""Kill a real training run with SIGKILL, resume it, and get the uninterrupted weights."""
from __future__ import annotations

import pickle

import pytest
import torch

from spairkit.checkpoint import atomic_save, load_checkpoint_file
from spairkit.errors import CheckpointError
from tests.conftest import TOY_DIR

TOY = TOY_DIR / 'toy_config.py'
KILLED = TOY_DIR / 'toy_config_kill.py'


def _weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    from tests.conftest import run_cli
    work = tmp_path_factory.mktemp('full')
    env = {'PYTHONPATH': str(TOY_DIR)}
    result = run_cli('train', TOY, '--work-dir', work, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return work


def test_kill_and_resume_matches_uninterrupted(cli, toy_env, tmp_path, uninterrupted):
    killed = cli('train', KILLED, '--work-dir', tmp_path, env=toy_env)
    assert killed.returncode == -9  # SIGKILL after iteration 5
    assert (tmp_path / 'iter_4.pth').is_file() and not (tmp_path / 'iter_6.pth').exists()

    resumed = cli('train', TOY, '--work-dir', tmp_path, '--resume', env=toy_env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 4' in resumed.stdout + resumed.stderr

    final, reference = _weights(tmp_path / 'iter_8.pth'), _weights(uninterrupted / 'iter_8.pth')
    assert final.keys() == reference.keys()
    for key in final:
        assert torch.equal(final[key], reference[key]), key
    meta = torch.load(tmp_path / 'iter_8.pth', weights_only=True)['meta']
    assert meta['iter'] == 8


def test_resume_from_explicit_checkpoint(cli, toy_env, tmp_path, uninterrupted):
    result = cli('train', TOY, '--work-dir', tmp_path, '--resume', uninterrupted / 'iter_6.pth',
                 env=toy_env)
    assert result.returncode == 0, result.stderr[-3000:]
    final, reference = _weights(tmp_path / 'iter_8.pth'), _weights(uninterrupted / 'iter_8.pth')
    assert all(torch.equal(final[k], reference[k]) for k in final)


def test_resume_without_checkpoint_is_an_error(cli, toy_env, tmp_path):
    result = cli('train', TOY, '--work-dir', tmp_path, '--resume', env=toy_env)
    assert result.returncode == 2
    assert 'no checkpoint to resume from' in result.stderr


def test_checkpoints_are_plain_and_load_weights_only(uninterrupted):
    # No allowlist at all: the file holds only tensors and Python builtins.
    checkpoint = torch.load(uninterrupted / 'iter_8.pth', weights_only=True)
    assert {'meta', 'state_dict', 'message_hub', 'optimizer', 'param_schedulers'} <= set(checkpoint)
    restored = load_checkpoint_file(uninterrupted / 'iter_8.pth')
    from mmengine.logging import HistoryBuffer
    assert isinstance(restored['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    assert not list(uninterrupted.glob('*.partial'))


class _RunsCode:
    def __reduce__(self):
        import os
        return (os.system, ('touch pwned_marker',))


def test_malicious_checkpoint_is_refused_without_running_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _RunsCode()}, path)
    with pytest.raises(CheckpointError, match='--unsafe-load') as info:
        load_checkpoint_file(path)
    assert 'posix.system' in str(info.value) or 'os.system' in str(info.value)
    assert not (tmp_path / 'pwned_marker').exists()


def test_truncated_checkpoint_is_reported(tmp_path, uninterrupted):
    data = (uninterrupted / 'iter_8.pth').read_bytes()
    broken = tmp_path / 'broken.pth'
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match='broken.pth'):
        load_checkpoint_file(broken)


def test_atomic_save_keeps_old_file_when_save_fails(tmp_path):
    target = tmp_path / 'ckpt.pth'
    atomic_save({'a': torch.ones(2)}, target)

    def failing_save(obj, f):
        f.write(b'half')
        raise OSError('disk full')

    with pytest.raises(OSError):
        atomic_save({'b': 1}, target, save=failing_save)
    assert torch.equal(torch.load(target, weights_only=True)['a'], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ['ckpt.pth']


def test_non_checkpoint_file_is_refused(tmp_path):
    path = tmp_path / 'plain.pkl'
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(CheckpointError):
        load_checkpoint_file(path)  # not a dict of weights


# -- issue 17: rotation, work-dir lock, strict loading ------------------------------------

_KILL_ON_SAVE = '''
import os, signal
from mmengine.hooks import Hook
from spairkit.registry import HOOKS


@HOOKS.register_module()
class KillOnSaveHook(Hook):
    """SIGKILL as the checkpoint of iteration ``at_iter`` starts being written."""

    priority = 'HIGHEST'

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def before_save_checkpoint(self, runner, checkpoint):
        if runner.iter + 1 == self.at_iter:
            os.kill(os.getpid(), signal.SIGKILL)
'''


def test_kill_while_rotating_keeps_the_previous_checkpoint(cli, tmp_path):
    """max_keep_ckpts=1 (the demo's setting) and a kill as iter_4.pth starts being written:
    iter_2.pth must still be there, loadable, and ``--resume`` must continue from it."""
    (tmp_path / 'kill_on_save.py').write_text(_KILL_ON_SAVE)
    config = tmp_path / 'rotate.py'
    config.write_text(
        f"_base_ = ['{TOY}']\n"
        "custom_imports = dict(imports=['toy_components', 'kill_on_save'], "
        "allow_failed_imports=False)\n"
        "default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=1))\n")
    killing = tmp_path / 'rotate_kill.py'
    killing.write_text(f"_base_ = ['{config}']\n"
                       "custom_hooks = [dict(type='KillOnSaveHook', at_iter=4)]\n")
    env = {'PYTHONPATH': f'{TOY_DIR}:{tmp_path}'}
    work = tmp_path / 'work'
    killed = cli('train', killing, '--work-dir', work, env=env)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert sorted(p.name for p in work.glob('iter_*.pth')) == ['iter_2.pth']
    assert load_checkpoint_file(work / 'iter_2.pth')['meta']['iter'] == 2
    assert (work / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')

    resumed = cli('train', config, '--work-dir', work, '--resume', env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 2' in resumed.stdout + resumed.stderr
    assert sorted(p.name for p in work.glob('iter_*.pth')) == ['iter_8.pth']  # rotated


def test_second_training_in_a_work_dir_fails_naming_the_owner(tmp_path, capsys, monkeypatch):
    import os
    import socket

    from spairkit.cli.main import main
    from spairkit.engine.work_dir_lock import work_dir_lock
    monkeypatch.syspath_prepend(str(TOY_DIR))
    with work_dir_lock(tmp_path):  # a training in progress (this process, another fd)
        code = main(['train', str(TOY), '--work-dir', str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f'pid {os.getpid()} on {socket.gethostname()}' in err
    assert not list(tmp_path.glob('*.pth')) and not list(tmp_path.glob('20*'))  # wrote nothing


def test_stale_lock_of_a_dead_process_is_recovered(cli, toy_env, tmp_path):
    import json
    import socket
    (tmp_path / '.spairkit.lock').write_text(
        json.dumps({'pid': 2 ** 22 + 1, 'host': socket.gethostname(), 'started': 'earlier'}))
    result = cli('train', TOY, '--work-dir', tmp_path, env=toy_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / 'iter_8.pth').is_file()
    assert not (tmp_path / '.spairkit.lock').exists()  # released at the end


def test_checkpoint_of_another_model_is_refused_unless_non_strict(tmp_path, uninterrupted,
                                                                  capsys, monkeypatch):
    from spairkit.cli.main import main
    monkeypatch.syspath_prepend(str(TOY_DIR))
    ckpt = uninterrupted / 'iter_8.pth'
    base = ['test', str(TOY), str(ckpt), '--work-dir', str(tmp_path),
            '--cfg-options', 'model.width=4']
    code = main(base)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert str(ckpt) in err[-1] and 'conv1.weight [8, 3, 3, 3] vs [4, 3, 3, 3]' in err[-1]
    assert main([*base, '--non-strict']) == 0


def test_resume_with_another_models_checkpoint_is_one_line(tmp_path, uninterrupted, capsys,
                                                           monkeypatch):
    from spairkit.cli.main import main
    monkeypatch.syspath_prepend(str(TOY_DIR))
    ckpt = uninterrupted / 'iter_8.pth'
    code = main(['train', str(TOY), '--work-dir', str(tmp_path), '--resume', str(ckpt),
                 '--cfg-options', 'model.width=4'])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert str(ckpt) in err[-1] and 'does not fit the model' in err[-1]
