"""Every task's configs load; every task's synthetic configs train out of the box (CPU)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from spairkit.cli.main import main
from spairkit.config import load_config, packaged_config_root, task_config_roots
from spairkit.tasks import CONFIG_ROLES, get_task

BUILTIN = ['rain_streak', 'raindrop', 'shadow', 'motion_blur']
PAPER_BATCH = {'rain_streak': 8, 'raindrop': 8, 'shadow': 8, 'motion_blur': 16}

# A tiny budget: two iterations on 32x32 patches, validation on one 32x32 sample.
TINY = ['train_cfg.max_iters=2', 'train_dataloader.batch_size=2',
        'train_dataloader.dataset.patch_size=32', 'train_dataloader.dataset.num_samples=4',
        'val_dataloader.dataset.num_samples=1', 'val_dataloader.dataset.patch_size=32',
        'default_hooks.logger.interval=1', 'train_cfg.val_begin=1000']


@pytest.mark.parametrize('name', BUILTIN)
@pytest.mark.parametrize('role', CONFIG_ROLES)
def test_every_declared_config_loads_and_follows_the_paper(name, role):
    task = get_task(name)
    cfg = load_config(task.config(role))
    assert cfg.train_dataloader.batch_size == PAPER_BATCH[name] == task.batch_size
    assert cfg.optim_wrapper.optimizer.type == 'Adam' and cfg.optim_wrapper.optimizer.lr == 1e-4
    (step,) = cfg.param_scheduler
    assert step.type == 'StepLR' and step.gamma == 0.5
    assert step.step_size == 50 * cfg.iters_per_epoch
    assert cfg.model.stage == ('localizer' if role.startswith('netl') else 'restorer')
    dataset = cfg.train_dataloader.dataset
    assert dataset.task == name
    if role.endswith('synthetic'):
        assert dataset.type == 'SynthesizedPairDataset'
        assert dataset.degradation.type == task.synthesizer['type']
        assert dataset.patch_size == 256
    else:
        assert dataset.type == task.dataset_type()
        crop = [t for t in dataset.pipeline if t.type == 'PairedRandomCrop']
        assert crop and crop[0].size == 256
        derive = [t for t in dataset.pipeline if t.type == 'DeriveMask'][0]
        # No numbers in the config: DeriveMask applies the sample's task rule.
        assert 'threshold' not in derive and 'on' not in derive
    assert 'mask_threshold' not in cfg.model and cfg.model.get('mask_rule') is None
    flips = [t for t in dataset.pipeline if t.type == 'PairedFlip'][0]
    assert flips.horizontal == 0.5 and flips.vertical == 0.5
    protocols = {e.protocol for e in cfg.val_evaluator if e.type == 'RestorationMetric'}
    assert protocols == {task.protocol()}


def test_every_packaged_task_config_is_declared_by_its_task():
    roots = task_config_roots()
    for name in BUILTIN:
        declared = {Path(p.split('::')[1]).name for p in get_task(name).configs.values()}
        on_disk = {p.name for p in roots[name].glob('*.py')} - {'__init__.py'}
        assert on_disk == declared
        # The plugin's configs live in the plugin, not in the core's configs/.
        assert roots[name].samefile(Path(__file__).parents[2] / 'plugins' / name / 'configs')
        assert not (packaged_config_root() / name).exists()


def test_core_configs_name_no_plugin_component():
    """The core (its configs and its code) names no synthesiser, dataset or task of a
    plugin: those are found through the registries."""
    from spairkit.registry import DATASETS, DEGRADATIONS

    DATASETS.import_from_location()
    DEGRADATIONS.import_from_location()
    plugin_names = {n for reg in (DATASETS, DEGRADATIONS)
                    for n, obj in reg.module_dict.items()
                    if obj.__module__.startswith('spairkit.plugins.')}
    plugin_names |= {cls.__name__ for cls in (type(t) for t in map(get_task, BUILTIN))}
    assert 'RainStreakSynthesizer' in plugin_names
    core = Path(__file__).parents[2] / 'spairkit'
    for path in [*packaged_config_root().rglob('*.py'), *core.rglob('*.py')]:
        text = path.read_text()
        assert not [n for n in plugin_names if n in text], path


@pytest.fixture
def one_thread():
    """Tiny tensors: one intra-op thread is faster and does not fight other processes."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.parametrize('name', BUILTIN)
def test_synthetic_configs_train_both_stages(name, tmp_path, one_thread):
    task = get_task(name)
    netl_dir, spair_dir = tmp_path / 'netl', tmp_path / 'spair'
    assert main(['train', task.config('netl_synthetic'), '--work-dir', str(netl_dir),
                 '--cfg-options', *TINY]) == 0
    assert (netl_dir / 'iter_2.pth').is_file()
    # Stage 2 reads Net_L from stage 1's work dir (the checkpoint its last_checkpoint names).
    assert main(['train', task.config('spair_synthetic'), '--work-dir', str(spair_dir),
                 '--cfg-options', *TINY, f'model.netl_checkpoint={netl_dir}']) == 0
    assert (spair_dir / 'iter_2.pth').is_file()
