"""Distributed (2-process gloo DDP), mixed precision and NaN guard, through the real CLI."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import torch

from spairkit.engine.optim import CPUAutocastOptimWrapper
from tests.conftest import REPO, TOY_DIR

TOY = TOY_DIR / 'toy_config.py'


@pytest.mark.skipif(shutil.which('torchrun') is None, reason='torchrun not installed')
def test_two_process_ddp_on_cpu(tmp_path):
    work, dumps = tmp_path / 'work', tmp_path / 'dumps'
    dumps.mkdir()
    env = dict(os.environ, PYTHONPATH=str(TOY_DIR), OMP_NUM_THREADS='1', TOY_DUMP_DIR=str(dumps))
    result = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         '--master_port=29517', '-m', 'spairkit.cli.main', 'train',
         str(TOY_DIR / 'toy_config_ddp.py'), '--work-dir', str(work), '--launcher', 'pytorch'],
        env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = (torch.load(dumps / f'rank{r}.pt', weights_only=True) for r in (0, 1))
    for key in rank0:  # each rank saw other data: equal weights mean synced gradients
        assert torch.equal(rank0[key], rank1[key]), key
    final = torch.load(work / 'iter_8.pth', weights_only=True)['state_dict']
    assert all(torch.equal(final[k], rank0[k]) for k in final)
    logs = list(work.rglob('*.log'))
    assert len(logs) == 1, logs  # rank 0 only
    assert not [p for p in work.rglob('*') if 'rank1' in p.name]


def test_launcher_pytorch_without_torchrun_is_a_clear_error(cli, toy_env, tmp_path):
    result = cli('train', TOY, '--work-dir', tmp_path, '--launcher', 'pytorch', env=toy_env)
    assert result.returncode == 2
    assert 'needs torchrun' in result.stderr


def test_amp_on_cpu_trains_without_nan(cli, toy_env, tmp_path):
    result = cli('train', TOY, '--work-dir', tmp_path, '--amp', env=toy_env)
    assert result.returncode == 0, result.stderr[-3000:]
    weights = torch.load(tmp_path / 'iter_8.pth', weights_only=True)['state_dict']
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_cpu_autocast_wrapper_runs_forward_in_bf16():
    model = torch.nn.Conv2d(3, 4, 3)
    wrapper = CPUAutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        out = model(torch.rand(1, 3, 8, 8))
    assert out.dtype == torch.bfloat16
    with pytest.raises(ValueError, match='dtype'):
        CPUAutocastOptimWrapper(dtype='int8', optimizer=torch.optim.SGD(model.parameters(), 0.1))


def test_nan_loss_stops_training_and_keeps_last_good_checkpoint(cli, toy_env, tmp_path):
    result = cli('train', TOY, '--work-dir', tmp_path, '--cfg-options', 'model.nan_after=5',
                 env=toy_env)
    assert result.returncode == 3, result.stderr[-3000:]
    assert 'loss became nan at iteration 6' in result.stderr
    assert 'iter_4.pth' in result.stderr
    assert not (tmp_path / 'iter_6.pth').exists()
    weights = torch.load(tmp_path / 'iter_4.pth', weights_only=True)['state_dict']
    assert all(torch.isfinite(w).all() for w in weights.values())


@pytest.mark.skipif(shutil.which('torchrun') is None, reason='torchrun not installed')
def test_two_process_ddp_spair_with_empty_mask_batches(tmp_path):
    """SFM/SC/SNL compute nothing for a batch without degraded pixels; DDP (with
    find_unused_parameters=False) would fail the next step if any parameter then got
    no gradient. Both ranks see two all-clean batches, then two with degraded pixels."""
    from mmengine.registry import DefaultScope

    from spairkit.config import load_config
    from spairkit.registry import MODELS

    cfg = load_config(REPO / 'tests/apis/tiny_restorer.py')
    with DefaultScope.overwrite_default_scope('spairkit'):
        model = MODELS.build(cfg.model)  # Net_L gets random weights, saved for stage 2
    netl = {k: v for k, v in model.state_dict().items() if k.startswith('netl.')}
    torch.save({'state_dict': netl, 'meta': {}}, tmp_path / 'netl.pth')
    work, dumps = tmp_path / 'work', tmp_path / 'dumps'
    dumps.mkdir()
    env = dict(os.environ, PYTHONPATH=str(TOY_DIR), OMP_NUM_THREADS='1',
               TOY_DUMP_DIR=str(dumps), TOY_NETL_CKPT=str(tmp_path / 'netl.pth'),
               SPAIRKIT_OPS_BACKEND='torch')
    result = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         '--master_port=29519', '-m', 'spairkit.cli.main', 'train',
         str(TOY_DIR / 'spair_ddp.py'), '--work-dir', str(work), '--launcher', 'pytorch'],
        env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = (torch.load(dumps / f'rank{r}.pt', weights_only=True) for r in (0, 1))
    trained = [k for k in rank0 if k.startswith('netr.')]
    assert trained and all(torch.equal(rank0[k], rank1[k]) for k in trained)
    assert (work / 'iter_4.pth').is_file()


@pytest.mark.parametrize('fail', [False, True])
def test_distributed_session_destroys_the_process_group(monkeypatch, fail):
    # A rank that exits with its gloo group alive can abort at interpreter exit.
    import socket

    import torch.distributed as dist
    from mmengine.config import Config

    from spairkit.engine.distributed import distributed_session
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    for key, value in dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(port)).items():
        monkeypatch.setenv(key, value)
    cfg = Config(dict(model=dict(type='Toy')))

    def session():
        with distributed_session(cfg, 'pytorch'):
            assert dist.is_initialized() and dist.get_world_size() == 1
            assert cfg.env_cfg.dist_cfg.backend == 'gloo'
            if fail:
                raise RuntimeError('training failed')

    if fail:
        with pytest.raises(RuntimeError, match='training failed'):
            session()
    else:
        session()
    assert not dist.is_initialized()
