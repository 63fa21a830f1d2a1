"""``MultiTaskRatioSampler``: draw from several tasks' datasets in configured proportions.

Joint training (rain streaks + raindrops in one model) concatenates the tasks'
datasets; sampling the concatenation uniformly would weight each task by its
dataset size. This sampler instead fixes each task's share of every epoch.

Per epoch it draws exactly ``round(ratio * epoch_length)`` indices per task
(largest-remainder rounding, so the shares add up), walks each task's pooled
indices in a fresh random permutation (cycling when a small dataset must be
repeated), shuffles the result and deals it to the distributed ranks like
MMEngine's ``DefaultSampler``: the same seed on every rank, rank ``r`` takes
positions ``r, r + world_size, ...``. Everything derives from ``(seed, epoch)``,
so the order is reproducible and independent of the number of workers.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from spairkit.errors import ConfigError
from spairkit.registry import DATA_SAMPLERS


def dataset_task(dataset) -> str | None:
    """The ``task`` of a dataset, looking through MMEngine wrappers (Repeat, ClassBalanced)."""
    while dataset is not None:
        task = getattr(dataset, 'task', None)
        if task:
            return task
        dataset = getattr(dataset, 'dataset', None)
    return None


def largest_remainder(shares: Sequence[float], total: int) -> list[int]:
    """Integer counts proportional to ``shares`` that sum exactly to ``total``."""
    exact = [s * total for s in shares]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(shares)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[:total - sum(counts)]:
        counts[i] += 1
    return counts


@DATA_SAMPLERS.register_module()
class MultiTaskRatioSampler(Sampler):
    """Sample a ``ConcatDataset`` of task datasets with a fixed share per task.

    Args:
        dataset: an MMEngine ``ConcatDataset`` whose sub-datasets have a
            ``task`` attribute (every spairkit dataset does). Several
            sub-datasets may share a task; they are then pooled.
        ratios: ``{task: weight}``; weights are normalised to sum to 1 and must
            name exactly the tasks present.
        num_samples: indices per epoch over all ranks (default ``len(dataset)``).
        seed: base seed; ``None`` draws one and shares it across ranks.
    """

    def __init__(self, dataset, ratios: Mapping[str, float],
                 num_samples: int | None = None, seed: int | None = None):
        sub_datasets = getattr(dataset, 'datasets', None)
        cumulative = getattr(dataset, 'cumulative_sizes', None)
        if sub_datasets is None or cumulative is None:
            raise ConfigError(
                f'MultiTaskRatioSampler needs a ConcatDataset of task datasets, got '
                f'{type(dataset).__name__}')
        pools: dict[str, list[int]] = {}
        start = 0
        for index, (sub, end) in enumerate(zip(sub_datasets, cumulative)):
            task = dataset_task(sub)
            if not task:
                raise ConfigError(
                    f'MultiTaskRatioSampler: sub-dataset {index} ({type(sub).__name__}) has no '
                    'task; set task=... in its config')
            pools.setdefault(task, []).extend(range(start, end))
            start = end
        ratios = dict(ratios)
        if set(ratios) != set(pools):
            raise ConfigError(
                f'MultiTaskRatioSampler.ratios names tasks {sorted(ratios)} but the datasets '
                f'have tasks {sorted(pools)}')
        bad = {t: r for t, r in ratios.items() if not (isinstance(r, (int, float)) and r > 0)}
        if bad:
            raise ConfigError(f'MultiTaskRatioSampler.ratios must be positive numbers, got {bad}')
        empty = [t for t, pool in pools.items() if not pool]
        if empty:
            raise ConfigError(f'MultiTaskRatioSampler: the datasets of tasks {empty} are empty')

        self.dataset = dataset
        self.tasks = sorted(pools)
        total = float(sum(ratios.values()))
        self.ratios = {t: ratios[t] / total for t in self.tasks}
        self.pools = {t: np.asarray(pools[t], dtype=np.int64) for t in self.tasks}
        self.num_samples = int(num_samples) if num_samples is not None else len(dataset)
        if self.num_samples <= 0:
            raise ConfigError(f'MultiTaskRatioSampler.num_samples must be > 0, got {num_samples}')
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.rank, self.world_size = get_dist_info()
        self.total_size = math.ceil(self.num_samples / self.world_size) * self.world_size
        self.epoch = 0

    def epoch_indices(self, epoch: int) -> np.ndarray:
        """All ranks' indices of ``epoch`` (length ``num_samples``), before sharding."""
        rng = np.random.default_rng([self.seed, epoch])
        counts = largest_remainder([self.ratios[t] for t in self.tasks], self.num_samples)
        chunks = []
        for task, count in zip(self.tasks, counts):
            pool = self.pools[task]
            repeats = math.ceil(count / len(pool)) if count else 0
            walk = [rng.permutation(pool) for _ in range(repeats)]
            chunks.append(np.concatenate(walk)[:count] if walk else pool[:0])
        indices = np.concatenate(chunks)
        rng.shuffle(indices)
        return indices

    def __iter__(self) -> Iterator[int]:
        # Wrap around so every rank gets the same number of indices.
        indices = np.resize(self.epoch_indices(self.epoch), self.total_size).tolist()
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        return self.total_size // self.world_size

    def set_epoch(self, epoch: int) -> None:
        """Called by MMEngine's loops so each epoch draws a new order."""
        self.epoch = epoch
