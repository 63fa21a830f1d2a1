# SPAIR stage 1 on synthetic haze: Net_L learns where the haze is dense (BCE).
#   spairkit train spairkit_haze::netl_haze_synthetic.py
_base_ = ['spairkit::_base_/models/netl.py', './_haze_data.py',
          'spairkit::_base_/schedules/adam_1e-4.py', 'spairkit::_base_/default_runtime.py']
work_dir = 'work_dirs/haze/netl'

# The paper's schedule for 2000 samples / batch 8 = 250 iterations per epoch.
iters_per_epoch = 250
param_scheduler = [dict(type='StepLR', by_epoch=False, step_size=50 * iters_per_epoch,
                        gamma=0.5)]
train_cfg = dict(max_iters=200 * iters_per_epoch, val_interval=5 * iters_per_epoch)
