"""MultiTaskRatioSampler: ratios, determinism, distributed sharding, config errors."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from mmengine.dataset import BaseDataset, ConcatDataset, RepeatDataset

import spairkit.datasets.samplers as samplers_module
from spairkit.datasets import MultiTaskRatioSampler
from spairkit.errors import ConfigError
from spairkit.registry import DATA_SAMPLERS


class TaskList(BaseDataset):
    """``size`` placeholder samples of one task (the sampler only needs indices)."""

    def __init__(self, size: int, task: str):
        self.size = size
        self.task = task
        super().__init__(serialize_data=False)

    def load_data_list(self):
        return [{'i': i} for i in range(self.size)]


def concat(**sizes):
    return ConcatDataset([TaskList(n, t) for t, n in sizes.items()])


def task_of(dataset, index):
    k = int(np.searchsorted(dataset.cumulative_sizes, index, side='right'))
    return dataset.datasets[k].task


def test_ratio_is_exact_per_epoch_regardless_of_sizes():
    data = concat(rain_streak=90, raindrop=10)
    sampler = MultiTaskRatioSampler(data, ratios=dict(rain_streak=1, raindrop=3), seed=0)
    assert len(sampler) == 100
    for epoch in range(3):
        sampler.set_epoch(epoch)
        tasks = [task_of(data, i) for i in sampler]
        assert tasks.count('raindrop') == 75 and tasks.count('rain_streak') == 25


def test_small_task_is_cycled_through_all_its_samples():
    data = concat(a=50, b=4)
    sampler = MultiTaskRatioSampler(data, ratios=dict(a=0.5, b=0.5), num_samples=40, seed=3)
    b_indices = [i for i in sampler if task_of(data, i) == 'b']
    assert len(b_indices) == 20
    counts = np.bincount(np.asarray(b_indices) - 50, minlength=4)
    assert counts.tolist() == [5, 5, 5, 5]  # whole permutations, no sample favoured


def test_empirical_fraction_of_uneven_ratio():
    data = concat(x=7, y=13, z=5)
    sampler = MultiTaskRatioSampler(data, ratios=dict(x=0.2, y=0.3, z=0.5),
                                    num_samples=1000, seed=1)
    tasks = [task_of(data, i) for i in sampler]
    for task, share in dict(x=0.2, y=0.3, z=0.5).items():
        assert abs(tasks.count(task) / 1000 - share) <= 0.001


def test_deterministic_and_epoch_dependent():
    data = concat(a=20, b=20)
    one = MultiTaskRatioSampler(data, ratios=dict(a=1, b=1), seed=7)
    two = MultiTaskRatioSampler(data, ratios=dict(a=1, b=1), seed=7)
    assert list(one) == list(two)
    first = list(one)
    one.set_epoch(1)
    assert list(one) != first
    other_seed = MultiTaskRatioSampler(data, ratios=dict(a=1, b=1), seed=8)
    assert list(other_seed) != first


def test_tasks_shuffled_together_not_in_blocks():
    data = concat(a=50, b=50)
    tasks = [task_of(data, i) for i in MultiTaskRatioSampler(data, dict(a=1, b=1), seed=0)]
    assert 'b' in tasks[:20] and 'a' in tasks[:20]


def test_ddp_shards_are_disjoint_and_cover_the_epoch(monkeypatch):
    data = concat(a=30, b=21)
    world = 4
    shards = []
    for rank in range(world):
        monkeypatch.setattr(samplers_module, 'get_dist_info', lambda r=rank: (r, world))
        sampler = MultiTaskRatioSampler(data, ratios=dict(a=2, b=1), seed=11)
        shards.append(list(sampler))
    full = MultiTaskRatioSampler.epoch_indices(sampler, 0).tolist()
    assert all(len(s) == 13 for s in shards)            # ceil(51 / 4)
    positions = [list(range(r, 52, world)) for r in range(world)]
    padded = full + full[:1]
    for shard, pos in zip(shards, positions):
        assert shard == [padded[p] for p in pos]        # each rank its own positions
    # The rank positions partition the padded epoch: every index served exactly once
    # (plus one wrap-around pad), and no two ranks share a position.
    assert sorted(sum(positions, [])) == list(range(52))
    served = Counter(sum(shards, []))
    assert served == Counter(padded)


def test_task_found_through_wrappers():
    assert samplers_module.dataset_task(RepeatDataset(TaskList(5, 'raindrop'), times=2)) \
        == 'raindrop'


def test_datasets_of_one_task_are_pooled():
    data = ConcatDataset([TaskList(5, 'rain_streak'), TaskList(10, 'raindrop'),
                          TaskList(5, 'raindrop')])
    sampler = MultiTaskRatioSampler(data, ratios=dict(rain_streak=1, raindrop=1), seed=0)
    assert sampler.tasks == ['rain_streak', 'raindrop']
    assert sampler.pools['raindrop'].tolist() == list(range(5, 20))
    assert sum(1 for i in sampler if i >= 5) == 10


@pytest.mark.parametrize('ratios,match', [
    (dict(a=1), r"names tasks \['a'\] but the datasets have tasks \['a', 'b'\]"),
    (dict(a=1, b=1, c=1), 'names tasks'),
    (dict(a=1, b=0), 'positive'),
])
def test_ratio_errors(ratios, match):
    with pytest.raises(ConfigError, match=match):
        MultiTaskRatioSampler(concat(a=2, b=2), ratios=ratios, seed=0)


def test_requires_concat_with_tasks():
    with pytest.raises(ConfigError, match='ConcatDataset'):
        MultiTaskRatioSampler(TaskList(3, 'a'), ratios=dict(a=1))
    with pytest.raises(ConfigError, match='has no task'):
        MultiTaskRatioSampler(ConcatDataset([TaskList(3, '')]), ratios=dict(a=1))


def test_built_from_registry_with_runner_default_args():
    data = concat(a=3, b=3)
    sampler = DATA_SAMPLERS.build(dict(type='MultiTaskRatioSampler', ratios=dict(a=1, b=1)),
                                  default_args=dict(dataset=data, seed=5))
    assert isinstance(sampler, MultiTaskRatioSampler) and sampler.seed == 5
