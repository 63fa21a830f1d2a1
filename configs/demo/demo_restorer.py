# `spairkit demo`, stage 2: a small SPAIR Net_R (SFM + SC + SNL) with the frozen Net_L
# of stage 1, on the same synthetic rain streaks. The output gate returns the input
# outside the (1-pixel dilated) mask: +1 dB at this budget (docs/benchmarks.md).
_base_ = ['../_base_/models/spair.py', './demo_common.py']
model = dict(
    netl=dict(_delete_=True, type='NAFNetL', width=16, num_levels=3, enc_blocks=[1, 1, 2]),
    output_gate=dict(type='MaskGatedBlend', dilation=1),
    netr=dict(base_channels=24, num_levels=3, growth=8, num_dense_layers=2,
              decoder_blocks=[dict(type='SparseConvBlock', growth=8, num_layers=6),
                              dict(type='SparseNonLocal', qk_channels=None, num_steps=2)]),
    netl_checkpoint=None,  # set by `spairkit demo` to stage 1's checkpoint
)
train_dataloader = dict(dataset=dict(num_samples=4000, seed=2))
max_iters = 700
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, T_max=max_iters,
                        eta_min=1e-5)]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_last=True))
custom_hooks = [dict(type='ProgressBarHook', desc='demo 2/2: SPAIR')]
