"""The task-plugin contract: the four built-in tasks, lookup and declaration checks."""
from __future__ import annotations

import numpy as np
import pytest

from spairkit.cli.main import main
from spairkit.degradations import Degradation
from spairkit.errors import ConfigError
from spairkit.registry import DATASETS, TASKS
from spairkit.tasks import Task, get_task, task_names

BUILTIN = ['motion_blur', 'rain_streak', 'raindrop', 'shadow']


def test_the_four_builtin_tasks_are_registered_through_plugins():
    assert set(BUILTIN) <= set(task_names())
    for name in BUILTIN:
        task = get_task(name)
        assert isinstance(task, Task) and task.name == name
        # Found through the entry points, defined in the plugin, not in the core.
        assert type(task).__module__ == f'spairkit.plugins.{name}'


@pytest.mark.parametrize('name', BUILTIN)
def test_declarations_resolve_to_registered_components(name):
    from spairkit.evaluation.protocols import protocol_names

    task = get_task(name)
    for layout, dataset_type in task.datasets.items():
        assert DATASETS.get(dataset_type) is not None, (layout, dataset_type)
        assert task.protocol(layout) in protocol_names()
    assert task.dataset_type() == task.datasets[task.default_layout]
    synth = task.build_synthesizer()
    assert isinstance(synth, Degradation)
    # The synthesiser marks degradation with the task's own mask rule.
    assert (synth.mask_threshold, synth.mask_on) == (task.mask_threshold, task.mask_on)
    assert task.mask_rule() == dict(threshold=task.mask_threshold, on=task.mask_on)
    degraded, mask = synth(np.full((24, 24, 3), 120, np.uint8), np.random.default_rng(0))
    assert degraded.shape == (24, 24, 3) and mask.shape == (24, 24)
    described = task.describe()
    assert described['name'] == name and described['batch_size'] == task.batch_size


def test_paper_batch_sizes():
    assert {n: get_task(n).batch_size for n in BUILTIN} == {
        'motion_blur': 16, 'rain_streak': 8, 'raindrop': 8, 'shadow': 8}


def test_synthesizer_overrides_do_not_change_the_task():
    task = get_task('rain_streak')
    synth = task.build_synthesizer(density=(0.0, 0.0))
    assert synth.density == (0.0, 0.0)
    assert 'density' not in task.synthesizer
    with pytest.raises(TypeError):
        task.synthesizer['density'] = (0.0, 0.0)  # the declaration is read-only


def test_unknown_names_are_one_line_errors_with_suggestions():
    with pytest.raises(ConfigError, match=r"unknown task 'rain_strek'.*'rain_streak'.*shadow"):
        get_task('rain_strek')
    task = get_task('shadow')
    with pytest.raises(ConfigError, match="no dataset layout 'srd'.*istd"):
        task.dataset_type('srd')
    with pytest.raises(ConfigError, match="no evaluation protocol for layout 'srd'"):
        task.protocol('srd')
    with pytest.raises(ConfigError, match="no 'teacher' config"):
        task.config('teacher')


def _declaration(**changes):
    attrs = dict(
        name='toy', description='a toy task', datasets={'folder': 'PairedFolderDataset'},
        default_layout='folder', mask_threshold=0.1, synthesizer={'type': 'X'},
        protocols={'folder': 'gopro_rgb'}, batch_size=4,
        configs={r: f'toy/{r}.py' for r in ('netl', 'spair', 'netl_synthetic',
                                            'spair_synthetic')})
    attrs.update(changes)
    return type('ToyTask', (Task,), attrs)


def test_a_valid_declaration_is_accepted():
    cls = _declaration()
    assert cls().protocol() == 'gopro_rgb'


@pytest.mark.parametrize('changes, attr', [
    (dict(name='Bad Name'), 'name'),
    (dict(default_layout='other'), 'default_layout'),
    (dict(protocols={}), 'protocols'),
    (dict(protocols={'folder': 'not_a_registered_protocol'}), 'protocols'),
    (dict(config_package='not a package'), 'config_package'),
    (dict(mask_threshold=0), 'mask_threshold'),
    (dict(mask_on='lab'), 'mask_on'),
    (dict(batch_size=0), 'batch_size'),
    (dict(synthesizer={'kind': 'X'}), 'synthesizer'),
    (dict(configs={'netl': 'a.py', 'spair': 'b.py'}), 'configs'),
    (dict(description=''), 'description'),
    (dict(demo_options=[('a', 1)]), 'demo_options'),
    (dict(demo_options={'train_dataloader..patch_size': 64}), 'demo_options'),
])
def test_bad_declarations_fail_at_definition_naming_the_attribute(changes, attr):
    with pytest.raises(ConfigError, match=f'ToyTask: {attr}'):
        _declaration(**changes)


def test_registered_under_a_different_name_is_reported():
    cls = _declaration(name='toy_task')
    TASKS.register_module(name='toy_alias', module=cls, force=True)
    try:
        with pytest.raises(ConfigError, match="registered under a different name.*'toy_task'"):
            get_task('toy_alias')
    finally:
        TASKS.module_dict.pop('toy_alias', None)


def test_spairkit_list_tasks_shows_the_builtin_four(capsys):
    assert main(['list', 'tasks']) == 0
    out = capsys.readouterr().out
    for name in BUILTIN:
        assert f'spairkit.plugins.{name}.' in out and name in out
