# What both stages of `spairkit demo` share: rain streaks synthesised over the
# scikit-image training photographs as 160x160 patches (the held-out size: the
# synthesisers scale streaks, drops and blur with the patch) cut into 48x48 crops, the held-out photographs for the
# final evaluation, Adam with a cosine decay, progress bars instead of log lines.
# The data is the rain_streak task's (its plugin's configs, through spairkit::).
_base_ = [
    'spairkit::rain_streak/_base_/datasets/synthetic_rain.py',
    '../_base_/schedules/adam_1e-4.py',
    '../_base_/default_runtime.py',
]
crop_size = 48
train_dataloader = dict(
    batch_size=8,
    dataset=dict(patch_size=160, pipeline=[
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
optim_wrapper = dict(optimizer=dict(lr=2e-3))
default_hooks = dict(logger=dict(interval=100))
randomness = dict(seed=0)
