# Joint rain-streak + raindrop, stage 2: one SPAIR (Net_R guided by the frozen joint
# Net_L of stage 1) that removes both rain streaks and raindrops. Defined by config alone:
# both tasks' datasets, the per-task sampling ratio (task_ratios in joint_data.py),
# validation on each task's held-out set with its own protocol, metrics per task
# ('rain_streak/psnr', 'raindrop/psnr', ...).
#   spairkit train examples/joint_streak_drop/joint_streak_drop.py
# The Net_L checkpoint defaults to the last one stage 1 (joint_netl.py) writes; point
# elsewhere with --cfg-options model.netl_checkpoint=PATH
_base_ = [
    '../../configs/_base_/models/spair.py',
    './joint_data.py',
    '../../configs/_base_/schedules/adam_1e-4.py',
    '../../configs/_base_/default_runtime.py',
]
default_scope = 'spairkit'
work_dir = 'work_dirs/joint_streak_drop/spair'
netl_checkpoint = 'work_dirs/joint_streak_drop/netl/iter_100000.pth'
model = dict(netl_checkpoint=netl_checkpoint)

iters_per_epoch = 500
max_iters = 200 * iters_per_epoch
param_scheduler = [
    dict(type='StepLR', by_epoch=False, step_size=50 * iters_per_epoch, gamma=0.5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=5 * iters_per_epoch)
