"""``spairkit bench``: the quick tables, JSON output, bad usage; and its building blocks."""
from __future__ import annotations

import json
import os

import pytest
import torch

from spairkit.benchmarking.masks import density_mask
from spairkit.benchmarking.model_quick import bench_latency, latency_table
from spairkit.benchmarking.tables import markdown_table
from spairkit.benchmarking.timing import forced_backend, time_call
from spairkit.ops import BACKEND_ENV_VAR


@pytest.mark.parametrize('density', [0.0, 0.02, 0.37, 1.0])
def test_density_mask_has_exact_fraction_and_is_reproducible(density):
    mask = density_mask(40, 56, density, seed=3)
    assert mask.shape == (1, 1, 40, 56)
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    assert int(mask.sum()) == round(density * 40 * 56)
    assert torch.equal(mask, density_mask(40, 56, density, seed=3))


def test_density_mask_is_clustered_not_salt_and_pepper():
    # Clustered degradations keep the 2x2-max-pooled (coarser level) mask sparse;
    # independent random pixels at 10% would mark ~34% of the coarse pixels.
    mask = density_mask(128, 128, 0.10, seed=0)
    coarse = torch.nn.functional.max_pool2d(mask, 2)
    assert float(coarse.mean()) < 0.2


def test_density_mask_rejects_bad_density():
    with pytest.raises(ValueError, match='density'):
        density_mask(8, 8, 1.5)


def test_time_call_respects_reps_and_budget():
    calls = []
    timing = time_call(lambda: calls.append(1), reps=4, warmup=2)
    assert len(calls) == 6 and timing.reps == 4 and 0 <= timing.min_s <= timing.median_s
    calls.clear()
    timing = time_call(lambda: calls.append(1), reps=50, warmup=0, budget_s=0.0)
    assert timing.reps == 1 and len(calls) == 1


def test_forced_backend_restores_the_environment(monkeypatch):
    monkeypatch.setenv(BACKEND_ENV_VAR, 'cpp')
    with forced_backend('torch'):
        assert os.environ[BACKEND_ENV_VAR] == 'torch'
    assert os.environ[BACKEND_ENV_VAR] == 'cpp'
    monkeypatch.delenv(BACKEND_ENV_VAR)
    with forced_backend('torch'):
        pass
    assert BACKEND_ENV_VAR not in os.environ


def test_markdown_table_checks_row_width():
    text = markdown_table(['a', 'b'], [[1, 0.5], ['x', None]])
    assert text.splitlines()[0].startswith('| a') and '| -' in text
    with pytest.raises(ValueError):
        markdown_table(['a', 'b'], [[1]])


def test_bench_latency_rows_and_table():
    rows = bench_latency(sizes=(16,), densities=(0.1, 1.0), backends=['torch'], reps=1,
                         small=True)
    names = [(r.model, r.density) for r in rows]
    assert names == [('Net_L', None), ('Net1', None), ('SPAIR', 0.1), ('SPAIR', 1.0)]
    assert all(r.median_s > 0 and r.reps == 1 for r in rows)
    table = latency_table(rows)
    assert 'SPAIR' in table and '10%' in table and 'x' in table.splitlines()[-1]


def test_bench_latency_skips_configurations_estimated_too_slow():
    rows = bench_latency(models=('SPAIR',), sizes=(16, 64), densities=(1.0,),
                         backends=['torch'], reps=1, small=True, include_netl=False,
                         skip_over_s=1e-9)
    assert rows[0].median_s is not None
    assert rows[1].median_s is None and rows[1].note.startswith('skipped: estimated')


def test_cli_bench_quick_prints_both_tables(cli, tmp_path):
    out = tmp_path / 'bench.json'
    result = cli('bench', '--quick', '--backends', 'torch', '--densities', '10%', '1',
                 '--json', out, '--threads', '1')
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith('spairkit bench on ')
    assert '| operator' in text and '| sparse_conv2d' in text and 'F.conv2d (dense)' in text
    assert '| net' in text and '| SPAIR' in text and '| Net1' in text
    assert '10%' in text and '100%' in text
    data = json.loads(out.read_text())
    assert {r['op'] for r in data['ops']} >= {'sparse_conv2d', 'masked_criss_cross_attention'}
    assert {r['backend'] for r in data['ops'] if r['density'] is not None} == {'torch'}
    spair = [r for r in data['model'] if r['model'] == 'SPAIR']
    assert [r['density'] for r in spair] == [0.1, 1.0]
    assert all(r['median_s'] > 0 for r in data['model'])
    assert data['machine']['ops_backends'][0] == 'torch'


def test_cli_bench_only_model(cli):
    result = cli('bench', '--quick', '--only', 'model', '--backends', 'torch',
                 '--densities', '0.5')
    assert result.returncode == 0, result.stderr
    assert '| operator' not in result.stdout and '| SPAIR' in result.stdout


@pytest.mark.parametrize('args, message', [
    (['--backends', 'gpu'], "unknown backend 'gpu'"),
    (['--densities', '150%'], 'outside [0, 1]'),
    (['--json', '/nonexistent-folder/x.json'], 'does not exist'),
])
def test_cli_bench_bad_usage_exits_2(cli, args, message):
    result = cli('bench', '--quick', *args)
    assert result.returncode == 2
    errors = [ln for ln in result.stderr.splitlines() if 'error:' in ln]
    assert len(errors) == 1 and message in errors[0]
    assert 'Traceback' not in result.stderr
