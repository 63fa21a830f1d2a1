# Synthetic pairs: a DEGRADATIONS synthesiser applied on the fly to random patches of the
# photographs that ship with scikit-image, so a task trains out of the box without
# downloads. Task-agnostic: a task's <task>_synthetic.py inherits this one and sets
#   task = '<task>'; degradation = dict(type='<its synthesiser>')
# in train/val dataloader.dataset, its batch size and its evaluators (protocol).
# Training and validation use different photographs ('train' and 'heldout'); sample i
# of a dataset always uses default_rng([seed, i]).
# Swap in your own clean photographs with dataset.clean_dir=<folder>.
task = ''
crop_size = 256
degradation = dict()  # the task's synthesiser, set by the child

# The synthesiser already cuts a random crop_size patch (patch_size) before degrading it.
train_pipeline = [
    dict(type='PairedFlip', horizontal=0.5, vertical=0.5),
    dict(type='PackRestorationInputs'),
]
test_pipeline = [dict(type='PackRestorationInputs')]

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='spairkit.restoration_collate'),
    dataset=dict(type='SynthesizedPairDataset', degradation=degradation, task=task,
                 num_samples=2000, patch_size=crop_size, split='train', seed=0,
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='spairkit.restoration_collate'),
    dataset=dict(type='SynthesizedPairDataset', degradation=degradation, task=task,
                 num_samples=16, patch_size=crop_size, split='heldout', seed=1,
                 pipeline=test_pipeline, test_mode=True),
)
test_dataloader = val_dataloader
