# The demo's Net_L (NAFNetL, BCE with per-batch pos_weight) on 64x64 training patches
# (the demo before it moved to the held-out size, 160).
_base_ = ['spairkit::demo/demo_localizer.py']
train_dataloader = dict(dataset=dict(patch_size=64))
