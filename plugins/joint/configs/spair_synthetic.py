# SPAIR stage 2 for joint rain: Net_R (L1) guided by the frozen Net_L of stage 1, synthetic.
#   spairkit train spairkit::joint/spair_synthetic.py
# Net_L: stage 1's work dir (its last_checkpoint); or --cfg-options model.netl_checkpoint=PATH
_base_ = [
    'spairkit::_base_/models/spair.py',
    './_base_/datasets/joint_synthetic.py',
    'spairkit::_base_/schedules/adam_1e-4.py',
    'spairkit::_base_/default_runtime.py',
]
default_scope = 'spairkit'
work_dir = 'work_dirs/joint/spair_synthetic'
model = dict(netl_checkpoint='work_dirs/joint/netl_synthetic')

# Paper schedule: Adam 1e-4 halved every 50 epochs (2000 synthetic samples / batch 8
# = 250 iterations per epoch); 200 epochs, validation every 5.
iters_per_epoch = 250
param_scheduler = [dict(type='StepLR', by_epoch=False, step_size=50 * iters_per_epoch,
                        gamma=0.5)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=200 * iters_per_epoch,
                 val_interval=5 * iters_per_epoch)
