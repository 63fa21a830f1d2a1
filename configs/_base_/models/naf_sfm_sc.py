# The NAF family, + SFM + SC: an SC module (6 densely connected mask-guided sparse convs
# + 1x1) after the NAF blocks of every decoder level.
_base_ = ['./naf_sfm.py']

sc_block = dict(type='SparseConvBlock', growth=16, num_layers=6)
model = dict(netr=dict(decoder_blocks=[sc_block]))
