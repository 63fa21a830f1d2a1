# res_patch64 with a NAFNet-family Net_R (3 levels, 24 channels) under the same SFM,
# SC, SNL and gate.
_base_ = ['./res_patch64.py']
model = dict(netr=dict(_delete_=True, type='NAFNetR', width=24, num_levels=3,
                       enc_blocks=[1, 1, 2], dec_blocks=1, sfm=dict(type='SFM'),
                       decoder_blocks=[dict(type='SparseConvBlock', growth=8, num_layers=6),
                                       dict(type='SparseNonLocal', qk_channels=None,
                                            num_steps=2)]))
