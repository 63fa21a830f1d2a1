# Net_L, the localization network, trained alone (stage 'localizer', BCE on the mask).
# CPU-friendly width; the paper-size Net_L is base_channels=32, num_levels=4.
netl = dict(type='NetL', base_channels=16, num_levels=3, growth=8, num_dense_layers=3)
model = dict(
    type='SPAIR',
    stage='localizer',
    netl=netl,
    mask_rule=None,           # gt mask where a sample has none: its task's mask rule
    binarize_threshold=0.5,   # Net_L probability -> binary mask (logged IoU/F1 use it)
    data_preprocessor=dict(type='RestorationDataPreprocessor'),
)
