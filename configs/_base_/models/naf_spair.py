# The NAF family, + SFM + SC + SNL: SPAIR's guidance on NAFNet blocks (SFM in the
# encoder, SC + the mask-guided sparse non-local module at every decoder level).
_base_ = ['./naf_sfm_sc.py']

sc_block = dict(type='SparseConvBlock', growth=16, num_layers=6)
snl_block = dict(type='SparseNonLocal', qk_channels=None, num_steps=2)
# Width 19: Net_R matches NAF alone's 400k parameters (403k).
model = dict(netr=dict(width=19, decoder_blocks=[sc_block, snl_block]))
