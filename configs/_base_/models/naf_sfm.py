# The NAF family, + SFM: NAFNet blocks in Net_R, SFM at the inputs of the strided convs
# fusing the frozen Net_L's features of the same level; no mask-guided decoder blocks.
_base_ = ['./netl.py']

# Override with --cfg-options model.netl_checkpoint=PATH (a .pth or the localizer's work dir).
netl_checkpoint = 'work_dirs/netl_localizer'
model = dict(
    stage='restorer',
    netl_checkpoint=netl_checkpoint,
    # Width 32, as NAF alone: 402k Net_R parameters against its 400k.
    netr=dict(type='NAFNetR', width=32, num_levels=3, enc_blocks=[1, 1, 2], dec_blocks=1,
              sfm=dict(type='SFM', eps=1e-5), decoder_blocks=[]),
)
