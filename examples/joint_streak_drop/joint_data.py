# Data of the joint rain-streak + raindrop example: both tasks in one training stream,
# mixed by a per-task ratio, and validated on each task's held-out set with its own
# protocol. Used as a _base_ by joint_netl.py (stage 1) and joint_streak_drop.py (stage 2).
#
# Both tasks are synthesised on the fly over the photographs that ship with scikit-image
# (no download): RainStreakSynthesizer and RaindropSynthesizer from the task plugins.
# Training and held-out sets use disjoint photographs ('train' / 'heldout'); sample i of
# a dataset is always drawn from default_rng([seed, i]).
#
# To use real data instead, replace a SynthesizedPairDataset by the task's layout dataset,
# e.g. dict(type='Rain13KDataset', data_root='data/Rain13K/train', pipeline=...) and
# dict(type='AGANDataset', data_root='data/AGAN/train', pipeline=...); keep `task` set
# (the layout datasets default it) so the sampler and the metric can tell the tasks apart.
crop_size = 256

# Mixing: each training epoch is 50 % rain-streak and 50 % raindrop samples, whatever
# the sizes of the two datasets. Change the shares here (they are normalised).
task_ratios = dict(rain_streak=0.5, raindrop=0.5)

# The synthesisers cut a random crop_size patch before degrading it.
train_pipeline = [
    dict(type='PairedFlip', horizontal=0.5, vertical=0.5),
    dict(type='PackRestorationInputs'),
]
test_pipeline = [dict(type='PackRestorationInputs')]

rain_streak_train = dict(
    type='SynthesizedPairDataset', task='rain_streak',
    degradation=dict(type='RainStreakSynthesizer'),
    num_samples=2000, patch_size=crop_size, split='train', seed=0, pipeline=train_pipeline)
raindrop_train = dict(
    type='SynthesizedPairDataset', task='raindrop',
    degradation=dict(type='RaindropSynthesizer'),
    num_samples=2000, patch_size=crop_size, split='train', seed=1, pipeline=train_pipeline)
rain_streak_val = dict(
    type='SynthesizedPairDataset', task='rain_streak',
    degradation=dict(type='RainStreakSynthesizer'),
    num_samples=16, patch_size=crop_size, split='heldout', seed=100, pipeline=test_pipeline,
    test_mode=True)
raindrop_val = dict(
    type='SynthesizedPairDataset', task='raindrop',
    degradation=dict(type='RaindropSynthesizer'),
    num_samples=16, patch_size=crop_size, split='heldout', seed=101, pipeline=test_pipeline,
    test_mode=True)

train_dataloader = dict(
    batch_size=8,            # the paper's batch size for both tasks
    num_workers=0,
    sampler=dict(type='MultiTaskRatioSampler', ratios=task_ratios),
    collate_fn=dict(type='spairkit.restoration_collate'),
    dataset=dict(type='ConcatDataset', datasets=[rain_streak_train, raindrop_train]),
)
# One validation stream holding both held-out sets; every sample carries its task, and
# the metric scores each task with its own protocol and reports it under '<task>/...'.
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='spairkit.restoration_collate'),
    dataset=dict(type='ConcatDataset', datasets=[rain_streak_val, raindrop_val]),
)
test_dataloader = val_dataloader
val_evaluator = dict(
    type='RestorationMetric',
    protocols=dict(rain_streak='rain13k_y', raindrop='agan_y_crop4'),
    per_task=True)
test_evaluator = val_evaluator
