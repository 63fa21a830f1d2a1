"""``spairkit ops check``: the table, the exit code, and that a broken backend fails."""
from __future__ import annotations

import shutil

import pytest
import torch

from spairkit.cli.main import main
from spairkit.ops import backend, compiled, selfcheck

HAS_CPP = shutil.which('c++') is not None


def test_cli_check_passes_and_prints_the_table(cli):
    result = cli('ops', 'check', timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for op in selfcheck.OPS:
        assert f'torch    {op}' in out
    if HAS_CPP:
        assert 'cpp      sparse_conv2d' in out and 'backends: torch, cpp' in out
    assert 'FAIL' not in out and 'passed in' in out


@pytest.mark.skipif(not HAS_CPP, reason='no C++ compiler: the compiled backend is unavailable')
def test_a_deliberately_broken_backend_fails(monkeypatch, capsys):
    compiled.load('cpp')
    real = compiled.sparse_conv2d

    def off_by_a_little(*args, **kwargs):
        return real(*args, **kwargs) * (1 + 1e-3)

    monkeypatch.setattr(compiled, 'sparse_conv2d', off_by_a_little)
    assert main(['ops', 'check']) == 1
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.startswith('cpp      sparse_conv2d'))
    assert row.endswith('FAIL')
    assert 'FAIL cpp sparse_conv2d' in out and '1 of 6 FAILED' in out
    # The other operators and the reference backend still pass.
    assert next(ln for ln in out.splitlines()
                if ln.startswith('cpp      masked_criss_cross')).endswith('pass')


def test_a_backend_that_raises_is_a_failure_with_its_error(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError('kernel exploded')

    result = selfcheck.check_backend('torch', 'masked_feature_modulation', 'cpu')
    assert result.passed and result.cases == 2 * len(selfcheck.CASES)
    # The public function under test breaks; the oracle (spairkit.ops.reference) does not.
    monkeypatch.setattr(backend, 'masked_feature_modulation', broken)
    bad = selfcheck.check_backend('torch', 'masked_feature_modulation', 'cpu')
    assert not bad.passed and bad.cases == 0 and 'kernel exploded' in bad.failures[0]
    assert 'FAIL' in selfcheck.format_table([bad])


def test_cases_cover_empty_full_mixed_and_odd_sizes():
    kinds = {case[4] for case in selfcheck.CASES}
    assert {'empty', 'full', 'mixed', 'random'} <= kinds
    assert any(case[2] == 1 or case[3] == 1 for case in selfcheck.CASES)
    assert any(case[0] > 1 for case in selfcheck.CASES)


def test_cuda_check_without_a_gpu_is_a_user_error(cli):
    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU (tests/gpu/run.sh runs the CUDA check)')
    result = cli('ops', 'check', '--device', 'cuda')
    assert result.returncode == 2
    assert 'no CUDA device' in result.stderr and len(result.stderr.strip().splitlines()) == 1
