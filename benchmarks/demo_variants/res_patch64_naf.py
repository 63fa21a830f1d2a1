# res_naf (NAFNet-family Net_R under SFM, SC, SNL and the gate) on 64x64 training patches.
_base_ = ['./res_naf.py']
train_dataloader = dict(dataset=dict(patch_size=64))
