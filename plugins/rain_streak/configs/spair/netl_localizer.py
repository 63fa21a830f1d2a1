# Stage 1: train Net_L (BCE on the degradation mask) on synthetic rain streaks.
#   spairkit train spairkit::spair/netl_localizer.py --work-dir work_dirs/netl_localizer
_base_ = [
    '../_base_/models/netl.py',
    '../_base_/datasets/synthetic_rain.py',
    '../_base_/schedules/adam_1e-4.py',
    '../_base_/default_runtime.py',
]
default_scope = 'spairkit'
