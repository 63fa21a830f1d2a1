# The toy run, killed with SIGKILL right after iteration 5 (checkpoint at 4).
_base_ = ['./toy_config.py']
custom_hooks = [dict(type='ToyKillHook', at_iter=5)]
