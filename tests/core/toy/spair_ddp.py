# A tiny SPAIR restorer (SFM + SC + SNL) trained with the ground-truth masks of
# ToyMaskedPairs, whose first batches have no degraded pixel at all: under DDP every
# mask-gated parameter must still receive a gradient. Net_L weights come from
# $TOY_NETL_CKPT (random weights written by the test).
_base_ = ['../../apis/tiny_restorer.py']
custom_imports = dict(imports=['toy_components'], allow_failed_imports=False)
model = dict(use_gt_mask=True, netl_checkpoint='{{$TOY_NETL_CKPT:missing.pth}}')
train_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='spairkit.restoration_collate'),
    dataset=dict(_delete_=True, type='ToyMaskedPairs', num=16, num_empty=8))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4, val_interval=100)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
default_hooks = dict(checkpoint=dict(interval=4), logger=dict(interval=1))
custom_hooks = [dict(type='ToyRankDumpHook', out_dir='{{$TOY_DUMP_DIR:.}}')]
randomness = dict(seed=0)
