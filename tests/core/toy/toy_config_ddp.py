# The toy run with every rank dumping its final weights to $TOY_DUMP_DIR.
_base_ = ['./toy_config.py']
custom_hooks = [dict(type='ToyRankDumpHook', out_dir='{{$TOY_DUMP_DIR:.}}')]
