# SPAIR stage 1 for joint rain (streaks + drops): Net_L (BCE on the union mask), synthetic data.
#   spairkit train spairkit::joint/netl_synthetic.py
# then stage 2: spairkit train spairkit::joint/spair_synthetic.py
_base_ = [
    'spairkit::_base_/models/netl.py',
    './_base_/datasets/joint_synthetic.py',
    'spairkit::_base_/schedules/adam_1e-4.py',
    'spairkit::_base_/default_runtime.py',
]
default_scope = 'spairkit'
work_dir = 'work_dirs/joint/netl_synthetic'

# Paper schedule: Adam 1e-4 halved every 50 epochs (2000 synthetic samples / batch 8
# = 250 iterations per epoch); 200 epochs, validation every 5.
iters_per_epoch = 250
param_scheduler = [dict(type='StepLR', by_epoch=False, step_size=50 * iters_per_epoch,
                        gamma=0.5)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=200 * iters_per_epoch,
                 val_interval=5 * iters_per_epoch)
