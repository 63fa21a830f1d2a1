# The demo's restorer (DED Net_R + SFM + SC + SNL, MaskGatedBlend(dilation=1)) on 64x64
# training patches.
_base_ = ['spairkit::demo/demo_restorer.py']
train_dataloader = dict(dataset=dict(patch_size=64))
