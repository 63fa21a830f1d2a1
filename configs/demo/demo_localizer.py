# `spairkit demo`, stage 1: a small Net_L on rain streaks synthesised over the
# scikit-image photographs (training photos only), sized for a 2-core CPU.
_base_ = [
    '../_base_/models/netl.py',
    '../_base_/datasets/synthetic_rain.py',
    '../_base_/schedules/adam_1e-4.py',
    '../_base_/default_runtime.py',
]
crop_size = 48
model = dict(netl=dict(base_channels=16, num_levels=3, growth=8, num_dense_layers=2))
train_dataloader = dict(
    batch_size=8,
    dataset=dict(num_samples=2000, patch_size=64, seed=0, pipeline=[
        dict(type='PairedRandomCrop', size=crop_size),
        dict(type='PairedFlip', horizontal=0.5, vertical=0.5),
        dict(type='PackRestorationInputs'),
    ]))
# Held-out photographs (never trained on), whole 160x160 patches.
test_dataloader = dict(dataset=dict(num_samples=8, patch_size=160, seed=1))
# No validation during training: the held-out set is evaluated once, at the end.
val_dataloader = None
val_cfg = None
val_evaluator = None
max_iters = 600
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, T_max=max_iters,
                        eta_min=1e-5)]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_last=True))
custom_hooks = [dict(type='ProgressBarHook', desc='demo 1/2: Net_L')]
randomness = dict(seed=0)
