# Rain streaks synthesised over the photographs shipped with scikit-image; runs
# anywhere without downloads. Train and validation use different photographs.
task = 'rain_streak'
crop_size = 64
degradation = dict(type='RainStreakSynthesizer')

train_pipeline = [
    dict(type='PairedRandomCrop', size=crop_size),
    dict(type='PairedFlip', horizontal=0.5, vertical=0.5),
    dict(type='PackRestorationInputs'),
]
val_pipeline = [dict(type='PackRestorationInputs')]

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='spairkit.restoration_collate'),
    dataset=dict(type='SynthesizedPairDataset', split='train', task=task, degradation=degradation,
                 num_samples=256, patch_size=96, seed=0, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='spairkit.restoration_collate'),
    dataset=dict(type='SynthesizedPairDataset', split='heldout', task=task, degradation=degradation,
                 num_samples=8, patch_size=128, seed=1, pipeline=val_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = [dict(type='RestorationMetric', protocol='rain13k_y', region_aware=True),
                 dict(type='MaskMetric')]
test_evaluator = val_evaluator
