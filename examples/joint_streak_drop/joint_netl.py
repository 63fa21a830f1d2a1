# Joint rain-streak + raindrop, stage 1: one Net_L trained (BCE) to localise both
# degradations, on the mixed stream of joint_data.py.
#   spairkit train examples/joint_streak_drop/joint_netl.py
# then stage 2: spairkit train examples/joint_streak_drop/joint_streak_drop.py
_base_ = [
    '../../configs/_base_/models/netl.py',
    './joint_data.py',
    '../../configs/_base_/schedules/adam_1e-4.py',
    '../../configs/_base_/default_runtime.py',
]
default_scope = 'spairkit'
work_dir = 'work_dirs/joint_streak_drop/netl'

# Paper schedule: Adam 1e-4 halved every 50 epochs; (2000 + 2000) samples / batch 8
# = 500 iterations per epoch; 200 epochs, validation every 5.
iters_per_epoch = 500
max_iters = 200 * iters_per_epoch
param_scheduler = [
    dict(type='StepLR', by_epoch=False, step_size=50 * iters_per_epoch, gamma=0.5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=5 * iters_per_epoch)
