# NAF family + SFM (Net_L features at the strided convs). Stage 2 after netl_localizer.py:
#   spairkit train spairkit::spair/naf_sfm.py --cfg-options model.netl_checkpoint=PATH
_base_ = [
    'spairkit::_base_/models/naf_sfm.py',
    '../_base_/datasets/synthetic_rain.py',
    'spairkit::_base_/schedules/adam_1e-4.py',
    'spairkit::_base_/default_runtime.py',
]
default_scope = 'spairkit'
