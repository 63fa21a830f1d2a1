# Table 6, Net2 (+SFM). Stage 2 after netl_localizer.py:
#   spairkit train spairkit::spair/net2.py --cfg-options model.netl_checkpoint=PATH
_base_ = [
    'spairkit::_base_/models/net2_sfm.py',
    '../_base_/datasets/synthetic_rain.py',
    'spairkit::_base_/schedules/adam_1e-4.py',
    'spairkit::_base_/default_runtime.py',
]
default_scope = 'spairkit'
