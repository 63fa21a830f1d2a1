"""``benchmarks/ablation.py --quick`` end to end, and the equal-budget contract of the ladder."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spairkit.benchmarking.ablation import AblationSettings, localizer_config, rung_config
from spairkit.benchmarking.ladder import RUNG_NAMES, model_cfg

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'benchmarks' / 'ablation.py'


def _run(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_every_rung_gets_the_same_budget_data_and_netl(tmp_path):
    settings = AblationSettings(netl_iters=7, netr_iters=11, seeds=(3,))
    cfgs = {name: rung_config(name, 'raindrop', settings, 3, 'netl.pth', tmp_path / name)
            for name in RUNG_NAMES}
    first = cfgs['Net1']
    for name, cfg in cfgs.items():
        for key in ('train_dataloader', 'test_dataloader', 'test_evaluator', 'optim_wrapper',
                    'param_scheduler', 'train_cfg', 'randomness'):
            assert cfg[key] == first[key], (name, key)
        assert cfg.model.netl == first.model.netl
        assert cfg.model.netl_checkpoint == 'netl.pth'
        assert cfg.model.netr.base_channels == 24
    assert first.train_cfg.max_iters == 11 and first.randomness.seed == 3
    dataset = first.train_dataloader.dataset
    assert dataset.degradation.type == 'RaindropSynthesizer' and dataset.split == 'train'
    assert first.test_dataloader.dataset.split == 'heldout'
    netl = localizer_config('raindrop', settings, tmp_path / 'netl')
    assert netl.model.stage == 'localizer' and netl.model.netl == first.model.netl
    assert netl.train_cfg.max_iters == 7


def test_ladder_rungs_differ_only_in_the_blocks_table6_adds():
    cfgs = {name: model_cfg(name, small=True)['netr'] for name in RUNG_NAMES}
    blocks = {name: [b['type'] for b in c['decoder_blocks']] for name, c in cfgs.items()}
    assert blocks == {'Net1': ['DenseBlock'], 'Net2': ['DenseBlock'],
                      'Net3': ['SparseConvBlock'], 'Net4': ['SparseConvBlock', 'NonLocal'],
                      'SPAIR': ['SparseConvBlock', 'SparseNonLocal']}
    assert cfgs['Net1'].get('sfm') is None
    assert all(cfgs[n]['sfm']['type'] == 'SFM' for n in RUNG_NAMES[1:])
    for c in cfgs.values():
        assert (c['base_channels'], c['growth'], c['num_dense_layers']) == (24, 8, 2)


@pytest.mark.slow
def test_ablation_quick_runs_end_to_end(tmp_path):
    out = tmp_path / 'ablation.json'
    # Two seeds and no time: the seed-0 block always runs, the seed-1 block must not.
    result = _run('--quick', '--tasks', 'rain_streak', '--seeds', '0', '1', '--time-limit',
                  '0', '--out', str(out), '--work-dir', str(tmp_path / 'work'),
                  '--threads', '1')
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data['partial'] is False and data['quick'] is True
    assert data['settings']['netr_iters'] == 2
    assert [(r['task'], r['seed']) for r in data['not_run']] == [('rain_streak', 1)]
    assert 'not run: rain_streak seed 1 (time limit' in result.stdout
    assert [r['rung'] for r in data['runs']] == list(RUNG_NAMES)
    netl = data['localizers']['rain_streak']
    assert Path(netl['checkpoint']).is_file()
    for run in data['runs']:
        for key in ('PSNR', 'SSIM', 'PSNR_degraded', 'PSNR_clean', 'input_PSNR'):
            assert isinstance(run['metrics'][key], float)
        assert run['netr_params'] > 0 and run['infer_s'] > 0
    params = {r['rung']: r['netr_params'] for r in data['runs']}
    assert params['Net1'] < params['Net2'] < params['Net3'] < params['SPAIR']
    assert len(data['summary']) == len(RUNG_NAMES)
    assert data['machine']['cpu'] and data['command'].startswith('python benchmarks/ablation.py')
    table = result.stdout
    assert '| task' in table and 'input (no restoration)' in table and '| rain_streak | SPAIR' \
        in table


def test_ablation_rejects_unknown_task(tmp_path):
    result = _run('--quick', '--tasks', 'snow', '--out', str(tmp_path / 'x.json'))
    assert result.returncode == 2
    assert "--tasks: 'snow'" in result.stderr
    assert not (tmp_path / 'x.json').exists()
