# Table 6, Net5 = SPAIR: Net4 with the non-local block replaced by the mask-guided
# sparse non-local module (SNL): SFM in the encoder, SC + SNL at every decoder level.
_base_ = ['./net3_sc.py']

sc_block = dict(type='SparseConvBlock', growth=16, num_layers=6)
snl_block = dict(type='SparseNonLocal', qk_channels=None, num_steps=2)
model = dict(netr=dict(decoder_blocks=[sc_block, snl_block]))
