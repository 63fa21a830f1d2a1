"""The two-family ladder: matched parameters, one budget, guidance only where declared."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spairkit.benchmarking.backbone_ladders import (
    LadderSettings,
    base_model,
    match_width,
    matched_models,
    rung_config,
    step_verdicts,
    summarise,
)
from spairkit.benchmarking.ladder import FAMILIES
from spairkit.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
#: The rungs a default ladder run trains (the default families).
ALL_RUNGS = list(dict.fromkeys(r.name for family in LadderSettings().families
                               for r in FAMILIES[family]))


@pytest.fixture(scope='module')
def models():
    return matched_models(LadderSettings(reference_width=12))


def test_every_rung_matches_the_reference_parameters(models):
    assert sorted(models) == sorted(ALL_RUNGS)
    target = models['NAF']['netr_params']
    assert models['NAF']['width'] == 12 and models['NAF']['target_params'] == target
    for name, entry in models.items():
        assert abs(entry['netr_params'] - target) <= 0.10 * target, name
    assert {e['model']['netr']['type'] for n, e in models.items() if e['family'] == 'naf'} \
        == {'NAFNet', 'NAFNetR'}


def test_guidance_only_where_the_rung_declares_it(models):
    for name in ('NAF', 'Net1'):
        model = models[name]['model']
        assert model['with_netl'] is False and model['output_gate'] is None
        assert models[name]['netl_params'] == 0
    for name in ('NAF+SFM', 'NAF+SFM+SC+SNL', 'Net2', 'SPAIR'):
        model = models[name]['model']
        assert model['with_netl'] is True and model['output_gate']['type'] == 'MaskGatedBlend'
        assert model['netr']['sfm']['type'] == 'SFM'
        assert models[name]['netl_params'] > 0
    blocks = {n: [b['type'] for b in e['model']['netr'].get('decoder_blocks', [])]
              for n, e in models.items() if e['family'] == 'naf'}
    assert blocks == {'NAF': [], 'NAF+SFM': [], 'NAF+SFM+SC': ['SparseConvBlock'],
                      'NAF+SFM+SC+SNL': ['SparseConvBlock', 'SparseNonLocal']}


def test_every_rung_gets_the_same_budget_and_data(models, tmp_path):
    settings = LadderSettings(netr_iters=13, batch_size=3, crop_size=40)
    cfgs = {n: rung_config(e['model'], 'raindrop', settings, 5, 'netl.pth', tmp_path / n)
            for n, e in models.items()}
    first = cfgs['NAF']
    for name, cfg in cfgs.items():
        for key in ('train_dataloader', 'test_dataloader', 'optim_wrapper', 'param_scheduler',
                    'train_cfg', 'randomness'):
            assert cfg[key] == first[key], (name, key)
        # The task's demo_options reach every rung: raindrops train on MSE + clean L1.
        assert cfg.model.pixel_loss.type == 'SumOfLosses'
        guided = cfg.model.with_netl
        assert cfg.model.netl_checkpoint == ('netl.pth' if guided else None)
    assert first.train_cfg.max_iters == 13 and first.randomness.seed == 5
    assert first.train_dataloader.batch_size == 3
    crop = [s for s in first.train_dataloader.dataset.pipeline if s.type == 'PairedRandomCrop']
    assert crop[0].size == 40
    assert first.train_dataloader.dataset.degradation.type == 'RaindropSynthesizer'


def test_match_width_refuses_a_target_it_cannot_reach():
    with pytest.raises(ConfigError, match='no width gives 10 Net_R parameters within 10%'):
        match_width(base_model('NAF'), target=10, tolerance=0.1, widths=range(4, 6))


def _row(task, rung, family, degraded, spread):
    return {'task': task, 'rung': rung, 'family': family, 'PSNR_degraded': degraded,
            'PSNR_degraded_spread': spread}


def test_a_step_helps_only_beyond_twice_the_larger_seed_spread():
    rows = [_row('t', 'NAF', 'naf', 20.0, 0.2), _row('t', 'NAF+SFM', 'naf', 20.5, 0.1),
            _row('t', 'NAF+SFM+SC', 'naf', 20.7, 0.1),
            _row('t', 'NAF+SFM+SC+SNL', 'naf', 20.3, 0.1), _row('t', 'Net1', 'ded', 19.0, None),
            _row('t', 'Net2', 'ded', 21.0, None)]
    verdicts = {(v['from'], v['to']): v for v in step_verdicts(rows)}
    assert verdicts[('NAF', 'NAF+SFM')]['verdict'] == 'helps'               # 0.5 > 2 x 0.2
    assert verdicts[('NAF+SFM', 'NAF+SFM+SC')]['verdict'] == 'within noise'  # 0.2 = 2 x 0.1
    assert verdicts[('NAF+SFM+SC', 'NAF+SFM+SC+SNL')]['verdict'] == 'hurts'  # -0.4 < -0.2
    assert verdicts[('Net1', 'Net2')]['verdict'] is None                     # one seed
    assert verdicts[('NAF', 'NAF+SFM')]['gain'] == pytest.approx(0.5)


def test_summary_reports_mean_std_and_spread_over_seeds():
    runs = [{'task': 't', 'rung': 'NAF', 'family': 'naf', 'seed': s, 'width': 8,
             'netr_params': 100, 'netl_params': 0, 'infer_s': 0.1, 'train_s': 10.0,
             'metrics': {'PSNR': p, 'PSNR_degraded': p - 5}} for s, p in ((0, 30.0), (1, 31.0))]
    (row,) = summarise({'runs': runs})
    assert row['PSNR'] == 30.5 and row['PSNR_std'] == 0.5 and row['PSNR_spread'] == 1.0
    assert row['seeds'] == [0, 1] and 'SSIM' not in row


@pytest.mark.slow
def test_quick_ladder_runs_end_to_end(tmp_path):
    out = tmp_path / 'ladders.json'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, str(REPO / 'benchmarks' / 'backbone_ladders.py'), '--quick',
         '--tasks', 'rain_streak', '--families', 'naf', '--seeds', '0', '--reference-width',
         '12', '--work-dir', str(tmp_path / 'work'), '--out', str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data['partial'] is False
    assert [r['rung'] for r in data['runs']] == [r.name for r in FAMILIES['naf']]
    assert data['localizers']['rain_streak']['checkpoint'].endswith('.pth')
    for run in data['runs']:
        assert run['curve'] and run['metrics']['PSNR'] > 0 and run['infer_s'] > 0
    assert '| rain_streak | NAF+SFM+SC+SNL |' in proc.stdout
    assert 'NAF -> NAF+SFM' in proc.stdout


def test_bad_rung_name_is_a_one_line_error(capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        'bench_backbone_ladders', REPO / 'benchmarks' / 'backbone_ladders.py')
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(['--skip-rungs', 'Net9', '--out', '/nonexistent/x.json']) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and 'Net9' in lines[0]


def test_packaged_naf_family_configs_match_naf_alone_parameters():
    from spairkit.benchmarking.backbone_ladders import netr_parameters
    from spairkit.benchmarking.ladder import model_cfg

    def params(name):
        model = model_cfg(name)
        if name != 'NAF':
            model['use_gt_mask'] = True  # no Net_L checkpoint needed to count parameters
        return netr_parameters(model)[0]

    target = params('NAF')
    for name in ('NAF+SFM', 'NAF+SFM+SC', 'NAF+SFM+SC+SNL'):
        assert abs(params(name) - target) <= 0.05 * target, name


def test_against_reference_applies_the_issue_target():
    from spairkit.benchmarking.backbone_ladders import against_reference

    rows = [dict(task='t', rung='NAF', PSNR_degraded=20.0, PSNR_clean=40.0),
            dict(task='t', rung='A', PSNR_degraded=20.6, PSNR_clean=40.0),
            dict(task='t', rung='B', PSNR_degraded=22.0, PSNR_clean=39.9),
            dict(task='t', rung='C', PSNR_degraded=20.4, PSNR_clean=41.0)]
    verdict = {v['rung']: v['meets'] for v in against_reference(rows)}
    assert verdict == {'A': True, 'B': False, 'C': False}


def test_no_gate_drops_only_the_gate_of_guided_rungs():
    gated, ungated = base_model('NAF+SFM'), base_model('NAF+SFM', gate=False)
    assert gated['output_gate']['type'] == 'MaskGatedBlend' and ungated['output_gate'] is None
    assert {k: v for k, v in gated.items() if k != 'output_gate'} == \
        {k: v for k, v in ungated.items() if k != 'output_gate'}
    assert base_model('NAF', gate=False) == base_model('NAF')


def test_a_spent_time_limit_starts_no_block(tmp_path):
    from spairkit.benchmarking.backbone_ladders import run_ladders

    settings = LadderSettings(tasks=('raindrop',), seeds=(0, 1), reference_width=12,
                              work_dir=str(tmp_path))
    results = run_ladders(settings, log=lambda _: None, time_limit_s=0.0)
    assert results['runs'] == [] and results['localizers'] == {}
    assert [(n['family'], n['seed']) for n in results['not_run']] == [
        ('naf', 0), ('naf', 1), ('ded', 0), ('ded', 1)]


def test_loss_curve_skips_a_newer_run_folder_without_losses(tmp_path):
    from spairkit.benchmarking.backbone_ladders import loss_curve
    train = tmp_path / '20261204_100000' / 'vis_data'
    test = tmp_path / '20261204_100001' / 'vis_data'  # e.g. runner.test() a second later
    train.mkdir(parents=True)
    test.mkdir(parents=True)
    (train / 'scalars.json').write_text(
        '{"iter": 10, "loss": 0.5}\n{"iter": 20, "loss": 0.25}\n')
    (test / 'scalars.json').write_text('{"PSNR": 30.0, "step": 20}\n')
    assert loss_curve(tmp_path) == [{'iter': 10, 'loss': 0.5}, {'iter': 20, 'loss': 0.25}]
    assert loss_curve(tmp_path / 'missing') == []
