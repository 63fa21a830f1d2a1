# The NAF family, + SFM + SC: an SC module (6 densely connected mask-guided sparse convs
# + 1x1) after the NAF blocks of every decoder level.
_base_ = ['./naf_sfm.py']

# Width 20, not 32: the SC modules' parameters bring Net_R to NAF alone's 400k (408k).
sc_block = dict(type='SparseConvBlock', growth=16, num_layers=6)
model = dict(netr=dict(width=20, decoder_blocks=[sc_block]))
