# Table 6, Net1: the dense encoder-decoder (DED) alone: no mask guidance anywhere.
# Net_L (frozen, from the localizer checkpoint) only reports the predicted mask.
_base_ = ['./netl.py']

# Override with --cfg-options model.netl_checkpoint=PATH
# A .pth file, or the localizer's work dir (the checkpoint its last_checkpoint names).
netl_checkpoint = 'work_dirs/netl_localizer'
dense_block = dict(type='DenseBlock', growth=16, num_layers=4)
model = dict(
    stage='restorer',
    netl_checkpoint=netl_checkpoint,
    netr=dict(type='NetR', base_channels=32, num_levels=3, growth=16, num_dense_layers=4,
              decoder_blocks=[dense_block]),  # no sfm: no Net_L guidance
)
