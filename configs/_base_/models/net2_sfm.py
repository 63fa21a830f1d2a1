# Table 6, Net2: Net1 + SFM at the inputs of the strided convolutions of the encoder,
# fusing the frozen Net_L's features of the same level.
_base_ = ['./net1_ded.py']

model = dict(netr=dict(sfm=dict(type='SFM', eps=1e-5)))
