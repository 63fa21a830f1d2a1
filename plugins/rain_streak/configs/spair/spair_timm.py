# SPAIR with a timm (resnet18) encoder in Net_R. Stage 2 after netl_localizer.py:
#   spairkit train spairkit::spair/spair_timm.py --cfg-options model.netl_checkpoint=PATH
_base_ = [
    'spairkit::_base_/models/spair_timm.py',
    '../_base_/datasets/synthetic_rain.py',
    'spairkit::_base_/schedules/adam_1e-4.py',
    'spairkit::_base_/default_runtime.py',
]
default_scope = 'spairkit'
