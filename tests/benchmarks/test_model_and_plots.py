"""benchmarks/model.py pieces (fresh-process peak memory) and benchmarks/plots.py figures."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

from spairkit.benchmarking.peak_memory import measure_peak_rss

REPO = Path(__file__).resolve().parents[2]


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(f'bench_{name}', REPO / 'benchmarks'
                                                  / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_peak_memory_worker_reports_rss_of_a_fresh_process():
    small = measure_peak_rss('SPAIR', 24, 0.5, 'torch', small=True, threads=1)
    assert set(small) == {'baseline_mb', 'peak_mb', 'forward_mb', 'method'}
    assert small['method'] == 'VmHWM'  # Linux: not ru_maxrss, which survives fork + exec
    assert small['peak_mb'] >= small['baseline_mb'] > 50  # python + torch alone
    assert small['forward_mb'] == pytest.approx(small['peak_mb'] - small['baseline_mb'])
    # A 16x larger image needs more memory in its forward: the measure sees the forward.
    large = measure_peak_rss('Net1', 384, 1.0, None, small=True, threads=1)
    assert large['forward_mb'] > 20 > small['forward_mb']


def test_peak_memory_is_not_inherited_from_a_big_parent():
    ballast = bytearray(400 * 1024 * 1024)  # the parent's peak RSS grows by 400 MB
    ballast[::4096] = b'x' * len(ballast[::4096])
    result = measure_peak_rss('SPAIR', 24, 0.5, 'torch', small=True, threads=1)
    del ballast
    assert result['forward_mb'] < 100


def test_peak_memory_worker_failure_is_reported():
    with pytest.raises(RuntimeError, match='peak-memory worker failed'):
        measure_peak_rss('Net9', 16, 0.5, 'torch', small=True)


def _fake_results(tmp_path: Path) -> Path:
    machine = {'cpu': 'test cpu', 'torch_threads': 1, 'torch': 'x', 'date_utc': 'today'}
    latency = [dict(model='Net1', size=s, density=None, backend='n/a', median_s=0.01 * s,
                    min_s=0.01, reps=1, note='') for s in (32, 64)]
    latency += [dict(model='SPAIR', size=s, density=d, backend=b, median_s=0.001 * s * d,
                     min_s=0.001, reps=1, note='') for s in (32, 64) for d in (0.05, 1.0)
                for b in ('cpp', 'torch')]
    latency.append(dict(model='SPAIR', size=64, density=0.25, backend='torch', median_s=None,
                        min_s=None, reps=0, note='skipped: estimated 999 s per call'))
    summary = [dict(task='rain_streak', rung=r, seeds=[0, 1], netr_params=1000, infer_s=0.1,
                    train_s=1.0, PSNR=30 + i, PSNR_std=0.2, PSNR_degraded=20 + i,
                    PSNR_degraded_std=0.1, PSNR_clean=40.0, PSNR_clean_std=None,
                    input_PSNR=25.0, input_PSNR_degraded=15.0, input_PSNR_clean=99.0)
               for i, r in enumerate(['Net1', 'SPAIR'])]
    runs = [dict(task='rain_streak', rung=r['rung'], seed=s, metrics={'PSNR': r['PSNR']})
            for r in summary for s in (0, 1)]
    results = tmp_path / 'results'
    results.mkdir()
    (results / 'model.json').write_text(json.dumps({'machine': machine, 'latency': latency}))
    (results / 'ablation.json').write_text(json.dumps(
        {'machine': machine, 'summary': summary, 'runs': runs}))
    metrics = dict(PSNR=30.0, PSNR_degraded=20.0, PSNR_clean=40.0, input_PSNR=25.0,
                   input_PSNR_degraded=15.0, input_PSNR_clean=41.0)
    ladder = [dict(task='raindrop', rung=r, family=f, seed=s, width=8, netr_params=1000,
                   netl_params=0, infer_s=0.1, train_s=1.0, metrics=metrics,
                   curve=[dict(iter=i, loss=1.0 / i) for i in (10, 20, 30)])
              for r, f in (('NAF', 'naf'), ('Net1', 'ded')) for s in (0, 1)]
    (results / 'backbone_ladders_raindrop.json').write_text(json.dumps(
        {'machine': machine, 'runs': ladder}))
    return results


def test_plots_draws_all_six_figures_and_prints_tables(tmp_path, capsys):
    plots = _load_script('plots')
    out = tmp_path / 'img'
    assert plots.main(['--results', str(_fake_results(tmp_path)), '--out', str(out),
                       '--markdown']) == 0
    text = capsys.readouterr().out
    assert '| SPAIR, 5%' in text and 'skipped' in text and '| Net1 (any)' in text
    assert '| rain_streak | SPAIR' in text and '31.00 ± 0.20' in text
    names = sorted(p.name for p in out.glob('*.png'))
    assert names == ['ablation_psnr.png', 'ablation_regions.png',
                     'backbone_ladders_curves.png', 'backbone_ladders_regions.png',
                     'model_time_vs_density.png', 'model_time_vs_resolution.png']
    assert all((out / n).stat().st_size > 5000 for n in names)


def test_plots_says_which_figures_it_could_not_draw(tmp_path, capsys):
    plots = _load_script('plots')
    (tmp_path / 'empty').mkdir()
    assert plots.main(['--results', str(tmp_path / 'empty'), '--out', str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert 'model figures not drawn' in out and 'ablation figures not drawn' in out
    assert 'ladder figures not drawn' in out
    assert '0 figures written' in out


def test_netr_train_step_trains_netr_only():
    """The training-step closure of model_ratio.py --train-step: a finite L1 loss,
    Net_R's parameters change, the frozen Net_L's do not, and the loss falls."""
    from spairkit.benchmarking.model_quick import build_restorer, netr_train_step

    torch.manual_seed(0)
    model = build_restorer('SPAIR', small=True)
    netl_before = [p.detach().clone() for p in model.netl.parameters()]
    netr_before = [p.detach().clone() for p in model.netr.parameters()]
    step = netr_train_step(model, 24, 0.2)
    losses = [step() for _ in range(5)]
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]
    assert all(torch.equal(a, b) for a, b in zip(netl_before, model.netl.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(netr_before, model.netr.parameters()))
