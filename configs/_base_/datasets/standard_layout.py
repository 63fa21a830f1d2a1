# What every task's standard-layout data config shares: worker settings, samplers
# and the collate function of the train / val / test loaders (paper Sec. 4: batch 8,
# random crops with flips). Each <task>_<layout>.py inherits it and adds its dataset
# type, folders, pipelines (with the task's mask rule) and evaluation protocol.
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='spairkit.restoration_collate'),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='spairkit.restoration_collate'),
)
test_dataloader = val_dataloader
