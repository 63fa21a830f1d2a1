# `spairkit demo`, stage 1: a small Net_L on rain streaks synthesised over the
# scikit-image photographs (training photos only), sized for a 2-core CPU.
# Net_L on NAFNet blocks (NAFNetL) with a per-batch positive weight in the BCE: the
# paper-style dense Net_L with plain BCE settles on "all clean" for sparse masks and
# sees too little context to tell drops, blur or shadows from the scene
# (docs/benchmarks.md, "Net_L on sparse degradations"). 1500 iterations, not 600:
# this Net_L learns late (held-out IoU at 600 -> 1500 iterations: raindrops 0.29 ->
# 0.54, rain streaks 0.67 -> 0.74), and it is the cheap stage.
_base_ = ['../_base_/models/netl.py', './demo_common.py']
netl = dict(_delete_=True, type='NAFNetL', width=16, num_levels=3, enc_blocks=[1, 1, 2])
model = dict(netl=netl, mask_loss=dict(type='BCELoss', pos_weight='batch'))
train_dataloader = dict(dataset=dict(num_samples=2000, seed=0))
max_iters = 1500
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, T_max=max_iters,
                        eta_min=1e-5)]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_last=True))
custom_hooks = [dict(type='ProgressBarHook', desc='demo 1/2: Net_L')]
