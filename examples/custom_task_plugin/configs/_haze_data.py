# Synthetic haze over the photographs that ship with scikit-image (no downloads):
# HazeSynthesizer is applied on the fly to random patches. Shared by both stages.
task = 'haze'
crop_size = 256
degradation = dict(type='HazeSynthesizer')

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='spairkit.restoration_collate'),
    dataset=dict(type='SynthesizedPairDataset', degradation=degradation, task=task,
                 num_samples=2000, patch_size=crop_size, split='train', seed=0,
                 pipeline=[dict(type='PairedFlip', horizontal=0.5, vertical=0.5),
                           dict(type='PackRestorationInputs')]),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='spairkit.restoration_collate'),
    dataset=dict(type='SynthesizedPairDataset', degradation=degradation, task=task,
                 num_samples=16, patch_size=crop_size, split='heldout', seed=1,
                 pipeline=[dict(type='PackRestorationInputs')], test_mode=True),
)
test_dataloader = val_dataloader
# spairkit's protocol metric next to the plugin's own haze metric.
val_evaluator = [dict(type='RestorationMetric', protocol='gopro_rgb', region_aware=True),
                 dict(type='HazeMetric')]
test_evaluator = val_evaluator

# spairkit's runtime defaults and the paper's schedule (Adam 1e-4 halved every
# 50 epochs; 2000 samples / batch 8 = 250 iterations per epoch).
default_scope = 'spairkit'
runner_type = 'SpairkitRunner'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=500, by_epoch=False, max_keep_ckpts=3,
                    save_last=True),
)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'))
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
randomness = dict(seed=0)
iters_per_epoch = 250
max_iters = 200 * iters_per_epoch
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = [
    dict(type='StepLR', by_epoch=False, step_size=50 * iters_per_epoch, gamma=0.5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=5 * iters_per_epoch)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
