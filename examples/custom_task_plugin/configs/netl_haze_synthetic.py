# SPAIR stage 1 on synthetic haze: Net_L learns where the haze is dense (BCE).
#   spairkit train <this file> --work-dir work_dirs/haze/netl
# A plugin's config cannot _base_ on spairkit's packaged configs by path, so the
# model is spelled out here (the same Net_L as spairkit's configs/_base_/models/netl.py).
_base_ = ['./_haze_data.py']

model = dict(
    type='SPAIR',
    stage='localizer',
    netl=dict(type='NetL', base_channels=16, num_levels=3, growth=8, num_dense_layers=3),
    mask_threshold=0.08,
    binarize_threshold=0.5,
    data_preprocessor=dict(type='RestorationDataPreprocessor'),
)
work_dir = 'work_dirs/haze/netl'
