# Table 6, Net3: Net2 with the decoder's dense blocks replaced by SC modules
# (6 densely connected mask-guided sparse convs + 1x1) at every decoder level.
_base_ = ['./net2_sfm.py']

sc_block = dict(type='SparseConvBlock', growth=16, num_layers=6)
model = dict(netr=dict(decoder_blocks=[sc_block]))
