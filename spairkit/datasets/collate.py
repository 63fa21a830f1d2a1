"""``restoration_collate``: batch packed samples without stacking them.

Stacking is left to the data preprocessor, which knows the device and the
target dtype; keeping lists here also lets validation batches hold images of
different sizes. Register name: ``restoration_collate`` in FUNCTIONS; with a
plain MMEngine runner write ``collate_fn=dict(type='spairkit.restoration_collate')``
so MMEngine's root registry finds it in spairkit's scope.
"""
from __future__ import annotations

from collections.abc import Sequence

from spairkit.registry import FUNCTIONS


@FUNCTIONS.register_module()
def restoration_collate(batch: Sequence[dict]) -> dict:
    """``[{'inputs', 'data_samples'}, ...]`` -> ``{'inputs': [...], 'data_samples': [...]}``."""
    if not batch:
        raise ValueError('restoration_collate got an empty batch')
    missing = [i for i, s in enumerate(batch) if 'inputs' not in s or 'data_samples' not in s]
    if missing:
        raise ValueError(
            f"restoration_collate: samples {missing} lack 'inputs'/'data_samples'; end the "
            'pipeline with PackRestorationInputs')
    return {'inputs': [s['inputs'] for s in batch],
            'data_samples': [s['data_samples'] for s in batch]}
