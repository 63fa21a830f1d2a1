# `spairkit demo`, stage 1: a small Net_L on rain streaks synthesised over the
# scikit-image photographs (training photos only), sized for a 2-core CPU.
_base_ = ['../_base_/models/netl.py', './demo_common.py']
model = dict(netl=dict(base_channels=16, num_levels=3, growth=8, num_dense_layers=2))
train_dataloader = dict(dataset=dict(num_samples=2000, seed=0))
max_iters = 600
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, T_max=max_iters,
                        eta_min=1e-5)]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_last=True))
custom_hooks = [dict(type='ProgressBarHook', desc='demo 1/2: Net_L')]
