# Stage 1: train Net_L (BCE on the degradation mask) on synthetic rain streaks.
#   spairkit train spairkit::spair/netl_localizer.py --work-dir work_dirs/netl_localizer
_base_ = [
    'spairkit::_base_/models/netl.py',
    '../_base_/datasets/synthetic_rain.py',
    'spairkit::_base_/schedules/adam_1e-4.py',
    'spairkit::_base_/default_runtime.py',
]
default_scope = 'spairkit'
