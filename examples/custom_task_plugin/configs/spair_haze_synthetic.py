# SPAIR stage 2 on synthetic haze: Net_R (SFM + SC + SNL) guided by the frozen Net_L.
#   spairkit train spairkit_haze::spair_haze_synthetic.py
# Net_L is stage 1's work dir (its last_checkpoint); --cfg-options model.netl_checkpoint=PATH
_base_ = ['spairkit::_base_/models/spair.py', './_haze_data.py',
          'spairkit::_base_/schedules/adam_1e-4.py', 'spairkit::_base_/default_runtime.py']
work_dir = 'work_dirs/haze/spair'
model = dict(netl_checkpoint='work_dirs/haze/netl')

# The paper's schedule for 2000 samples / batch 8 = 250 iterations per epoch.
iters_per_epoch = 250
param_scheduler = [dict(type='StepLR', by_epoch=False, step_size=50 * iters_per_epoch,
                        gamma=0.5)]
train_cfg = dict(max_iters=200 * iters_per_epoch, val_interval=5 * iters_per_epoch)
