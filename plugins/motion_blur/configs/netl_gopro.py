# SPAIR stage 1 for motion blur: train Net_L (BCE on the degradation mask) on gopro data.
#   spairkit train spairkit::motion_blur/netl_gopro.py
# then stage 2: spairkit train spairkit::motion_blur/spair_gopro.py
_base_ = [
    'spairkit::_base_/models/netl.py',
    './_base_/datasets/motion_blur_gopro.py',
    'spairkit::_base_/schedules/adam_1e-4.py',
    'spairkit::_base_/default_runtime.py',
]
default_scope = 'spairkit'
work_dir = 'work_dirs/motion_blur/netl_gopro'

# Paper schedule: Adam 1e-4 halved every 50 epochs (2103 pairs / batch 16
# = 132 iterations per epoch); 200 epochs, validation every 5.
iters_per_epoch = 132
max_iters = 200 * iters_per_epoch
param_scheduler = [
    dict(type='StepLR', by_epoch=False, step_size=50 * iters_per_epoch, gamma=0.5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=5 * iters_per_epoch)
