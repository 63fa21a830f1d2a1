# A custom Net_R composed by config alone: SPAIR, but
#   * the encoder is timm's MobileNetV3 (stride-2 and stride-4 features) behind a
#     full-resolution conv stem, instead of the dense encoder;
#   * SC at every decoder level, SNL only at the two coarsest levels (1/2 and 1/4);
#   * SFM only where Net_L and Net_R features are fused before the first stride-2 stage.
# Net_L is unchanged, so the checkpoint of spairkit::spair/netl_localizer.py still fits.
#
#   spairkit train examples/custom_netr/configs/spair_coarse_snl_mobilenet.py \
#       --cfg-options model.netl_checkpoint=work_dirs/netl_localizer
_base_ = ['spairkit::spair/spair.py']

sc = dict(type='SparseConvBlock', growth=16, num_layers=6)
snl = dict(type='SparseNonLocal', qk_channels=16)
model = dict(
    netr=dict(
        encoder=dict(type='TimmEncoder', model_name='mobilenetv3_small_100', stem_channels=32),
        # one list per level, finest (full resolution) first
        decoder_blocks=[[sc], [sc, snl], [sc, snl]],
        sfm_levels=[0],
    ),
)
