"""The built-in ``joint`` task plugin: rain streaks + raindrops, one model.

Its synthesiser is the core's SequentialDegradation of the two rain plugins'
synthesisers, so the checks here are that the composition is the declared one, that
its mask covers what each step changed, that the task's mask rule is the one the
composition marks with, and that its two configs load and train.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spairkit.cli.main import main
from spairkit.config import load_config, task_config_roots
from spairkit.datasets.transforms import DeriveMask
from spairkit.degradations import SequentialDegradation
from spairkit.evaluation.protocols import protocol_names
from spairkit.mask_rule import MaskRule, task_mask_rule
from spairkit.registry import DATASETS
from spairkit.tasks import get_task, task_names

from .conftest import structured_image
from .test_task_configs import TINY


def test_joint_is_a_registered_plugin_task(capsys):
    assert 'joint' in task_names()
    task = get_task('joint')
    # Found through its entry point, defined in its plugin, not in the core.
    assert type(task).__name__ == 'JointRainTask'
    assert type(task).__module__ == 'spairkit.plugins.joint'
    assert main(['list', 'tasks']) == 0
    assert 'spairkit.plugins.joint.JointRainTask' in capsys.readouterr().out


def test_declaration_is_the_streaks_then_drops_composition():
    task = get_task('joint')
    synth = task.build_synthesizer()
    assert isinstance(synth, SequentialDegradation)
    assert [type(d).__name__ for d in synth.degradations] == [
        'RainStreakSynthesizer', 'RaindropSynthesizer']
    # Each step with its own calibrated defaults: no parameter is overridden.
    assert [dict(d) for d in task.synthesizer['degradations']] == [
        {'type': 'RainStreakSynthesizer'}, {'type': 'RaindropSynthesizer'}]
    # The task's rule is the one the composition marks the final image with (the
    # finer of the two steps: the streaks' 0.06 on luma).
    assert (synth.mask_threshold, synth.mask_on) == (task.mask_threshold, task.mask_on)
    assert task.mask_rule() == dict(threshold=0.06, on='y')
    assert task.protocol() == 'rain13k_y' and 'rain13k_y' in protocol_names()
    assert DATASETS.get(task.dataset_type()) is not None
    assert task.batch_size == 8


def test_building_does_not_change_the_declaration():
    task = get_task('joint')
    before = repr(task.synthesizer)
    task.build_synthesizer()
    task.build_synthesizer(degradations=[dict(type='RainStreakSynthesizer')])
    assert repr(task.synthesizer) == before


def test_joint_mask_covers_the_streaks_and_the_drops():
    clean = structured_image(96, 112, seed=3)
    degraded, mask = get_task('joint').build_synthesizer()(clean, np.random.default_rng(7))
    assert degraded.shape == clean.shape and degraded.dtype == np.uint8
    assert mask.shape == clean.shape[:2] and set(np.unique(mask)) <= {0, 1}

    # The same two steps by hand, drawing from the same generator in the same order.
    from spairkit.plugins.rain_streak.synthesis import RainStreakSynthesizer
    from spairkit.plugins.raindrop.synthesis import RaindropSynthesizer

    rng = np.random.default_rng(7)
    streaked, streak_mask = RainStreakSynthesizer()(clean, rng)
    dropped, drop_mask = RaindropSynthesizer()(streaked, rng)
    np.testing.assert_array_equal(degraded, dropped)  # bit for bit the composition
    streak_mask, drop_mask = streak_mask.astype(bool), drop_mask.astype(bool)
    assert streak_mask.any() and drop_mask.any()
    # Each step contributes pixels the other does not mark: the union is not one of them.
    assert (streak_mask & ~drop_mask).any() and (drop_mask & ~streak_mask).any()
    joint = mask.astype(bool)
    assert (joint >= streak_mask).all()  # every streak change above 0.06 on Y
    assert (joint >= drop_mask).all()    # every drop change above 0.08 max, + footprint
    # ... and every final change under the task's rule (what DeriveMask gives real pairs).
    rule = task_mask_rule('joint')
    assert rule == MaskRule(0.06, 'y')
    assert (joint >= rule(degraded, clean)).all()
    derived = DeriveMask()({'img': degraded, 'gt': clean, 'task': 'joint'})['mask']
    np.testing.assert_array_equal(derived, rule(degraded, clean).astype(np.uint8))
    # Seeded: the same seed gives the same pair.
    again = get_task('joint').build_synthesizer()(clean, np.random.default_rng(7))
    np.testing.assert_array_equal(again[0], degraded)
    np.testing.assert_array_equal(again[1], mask)


@pytest.mark.parametrize('role', ['netl_synthetic', 'spair_synthetic'])
def test_configs_load_through_spairkit_joint_names(role):
    task = get_task('joint')
    assert task.config(role) == f'spairkit::joint/{role}.py'
    cfg = load_config(f'spairkit::joint/{role}.py')
    assert cfg.model.stage == ('localizer' if role == 'netl_synthetic' else 'restorer')
    assert cfg.train_dataloader.batch_size == task.batch_size
    assert cfg.optim_wrapper.optimizer.type == 'Adam' and cfg.optim_wrapper.optimizer.lr == 1e-4
    (step,) = cfg.param_scheduler
    assert step.type == 'StepLR' and step.gamma == 0.5
    assert step.step_size == 50 * cfg.iters_per_epoch
    assert cfg.train_cfg.max_iters == 200 * cfg.iters_per_epoch
    for loader in ('train_dataloader', 'val_dataloader'):
        dataset = cfg[loader].dataset
        assert dataset.type == 'SynthesizedPairDataset' and dataset.task == 'joint'
        assert dataset.patch_size == 256
        assert dataset.degradation.type == task.synthesizer['type']
        assert [d.type for d in dataset.degradation.degradations] == [
            d['type'] for d in task.synthesizer['degradations']]
    # No numbers for the mask rule in the config: the samples carry their task.
    assert 'mask_threshold' not in cfg.model and cfg.model.get('mask_rule') is None
    protocols = {e.protocol for e in cfg.val_evaluator if e.type == 'RestorationMetric'}
    assert protocols == {task.protocol()}


def test_every_packaged_config_is_declared_and_short():
    root = task_config_roots()['joint']
    assert root.samefile(Path(__file__).parents[2] / 'plugins' / 'joint' / 'configs')
    declared = {Path(p.split('::')[1]).name for p in get_task('joint').configs.values()}
    assert {p.name for p in root.glob('*.py')} - {'__init__.py'} == declared
    for path in [*root.glob('*.py'), *root.glob('_base_/datasets/*.py')]:
        assert len(path.read_text().splitlines()) <= 20, path


def test_synthetic_configs_train_both_stages(tmp_path):
    """Two iterations of each stage on 32x32 patches (the same tiny budget as the
    other tasks' test in test_task_configs.py)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        netl_dir, spair_dir = tmp_path / 'netl', tmp_path / 'spair'
        assert main(['train', 'spairkit::joint/netl_synthetic.py', '--work-dir',
                     str(netl_dir), '--cfg-options', *TINY]) == 0
        assert (netl_dir / 'iter_2.pth').is_file()
        assert main(['train', 'spairkit::joint/spair_synthetic.py', '--work-dir',
                     str(spair_dir), '--cfg-options', *TINY,
                     f'model.netl_checkpoint={netl_dir}']) == 0
        assert (spair_dir / 'iter_2.pth').is_file()
    finally:
        torch.set_num_threads(threads)
