# NAF family, dense rung: NAFNet alone (no Net_L, no mask). One stage, no localizer:
#   spairkit train spairkit::spair/naf.py
_base_ = [
    'spairkit::_base_/models/naf.py',
    '../_base_/datasets/synthetic_rain.py',
    'spairkit::_base_/schedules/adam_1e-4.py',
    'spairkit::_base_/default_runtime.py',
]
default_scope = 'spairkit'
