_base_ = ['../../../configs/_base_/default_runtime.py']
custom_imports = dict(imports=['toy_components'], allow_failed_imports=False)

model = dict(type='ToyRestorer', width=8)
train_dataloader = dict(
    batch_size=4, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyPairs', num=16, seed=0))
val_dataloader = dict(
    batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyPairs', num=8, seed=1))
val_evaluator = dict(type='ToyL1')
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-2))
param_scheduler = [dict(type='StepLR', by_epoch=False, step_size=3, gamma=0.5)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=8, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=10), logger=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
