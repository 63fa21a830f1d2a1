# Table 6, Net4: Net3 + the standard (embedded-Gaussian) non-local block at every
# decoder level. Keys/values are 2x2 max-pooled (Wang et al.'s cheaper variant): its
# cost is quadratic in the number of pixels.
_base_ = ['./net3_sc.py']

sc_block = dict(type='SparseConvBlock', growth=16, num_layers=6)
nl_block = dict(type='NonLocal', sub_sample=True)
model = dict(netr=dict(decoder_blocks=[sc_block, nl_block]))
