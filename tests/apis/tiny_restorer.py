# A SPAIR restorer small enough for CPU tests: SFM, SC and SNL all active. It keeps the
# base config's netl_checkpoint (a path that does not exist here), as a trained
# restorer config does: inference must not need it.
_base_ = [
    '../../configs/_base_/models/spair.py',
    'spairkit::rain_streak/_base_/datasets/synthetic_rain.py',
    '../../configs/_base_/schedules/adam_1e-4.py',
    '../../configs/_base_/default_runtime.py',
]
default_scope = 'spairkit'
model = dict(
    netl=dict(type='NetL', base_channels=4, num_levels=2, growth=4, num_dense_layers=2),
    netr=dict(type='NetR', base_channels=8, num_levels=2, growth=4, num_dense_layers=2,
              decoder_blocks=[dict(type='SparseConvBlock', growth=4, num_layers=2),
                              dict(type='SparseNonLocal')]),
)
val_dataloader = dict(dataset=dict(num_samples=2, patch_size=32))
test_dataloader = val_dataloader
