# Rain streaks synthesised over the scikit-image photographs at CPU-friendly sizes: the
# Table 6 ladder of spair/ (spairkit::spair/*.py) and the demo train on it. Train and validation use
# different photographs.
_base_ = ['./rain_streak_synthetic.py']
crop_size = 64

train_pipeline = [
    dict(type='PairedRandomCrop', size=crop_size),
    dict(type='PairedFlip', horizontal=0.5, vertical=0.5),
    dict(type='PackRestorationInputs'),
]
train_dataloader = dict(dataset=dict(num_samples=256, patch_size=96, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(num_samples=8, patch_size=128))
test_dataloader = val_dataloader
