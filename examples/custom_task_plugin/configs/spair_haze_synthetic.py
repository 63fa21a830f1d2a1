# SPAIR stage 2 on synthetic haze: Net_R (SFM + SC + SNL) guided by the frozen Net_L.
#   spairkit train <this file>
# Net_L is read from stage 1's work dir (its last_checkpoint); point elsewhere (a .pth
# file or a work dir) with --cfg-options model.netl_checkpoint=PATH.
# The model is spairkit's configs/_base_/models/spair.py, spelled out (see netl config).
_base_ = ['./_haze_data.py']

netl_checkpoint = 'work_dirs/haze/netl'
model = dict(
    type='SPAIR',
    stage='restorer',
    netl=dict(type='NetL', base_channels=16, num_levels=3, growth=8, num_dense_layers=3),
    netl_checkpoint=netl_checkpoint,
    mask_threshold=0.08,
    binarize_threshold=0.5,
    netr=dict(
        type='NetR', base_channels=32, num_levels=3, growth=16, num_dense_layers=4,
        sfm=dict(type='SFM', eps=1e-5),
        decoder_blocks=[dict(type='SparseConvBlock', growth=16, num_layers=6),
                        dict(type='SparseNonLocal', qk_channels=None, num_steps=2)]),
    data_preprocessor=dict(type='RestorationDataPreprocessor'),
)
work_dir = 'work_dirs/haze/spair'
