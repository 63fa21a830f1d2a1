# Data of the 'raindrop' task (raindrops) on its standard on-disk layout.
# AGAN / DeRaindrop (Qian et al. 2018): 861 training pairs, 58 test pairs (test_a).
#   <data_root>/train/{data/N_rain.png, gt/N_clean.png}
#   <data_root>/test_a/{data/N_rain.png, gt/N_clean.png}
# Point it at your copy with
#   --cfg-options train_dataloader.dataset.data_root=<data_root>/train \
#                 val_dataloader.dataset.data_root=<data_root>/test_a \
#                 test_dataloader.dataset.data_root=<data_root>/test_a
# Paper (Sec. 4): random 256x256 crops with random horizontal/vertical flips, batch 8.
# Masks: the dataset's own where it has one, else the task's mask rule
# (spairkit.tasks.get_task('raindrop').mask_rule()), which DeriveMask reads from the sample's task.
_base_ = ['spairkit::_base_/datasets/standard_layout.py']
task = 'raindrop'
data_root = 'data/raindrop'
crop_size = 256

train_pipeline = [
    dict(type='LoadPairFromFile'),
    dict(type='DeriveMask'),  # the task's mask rule
    dict(type='PairedRandomCrop', size=crop_size),
    dict(type='PairedFlip', horizontal=0.5, vertical=0.5),
    dict(type='PackRestorationInputs'),
]
test_pipeline = [
    dict(type='LoadPairFromFile'),
    dict(type='DeriveMask'),  # the task's mask rule
    dict(type='PackRestorationInputs'),
]

train_dataloader = dict(dataset=dict(
    type='AGANDataset', data_root=data_root + '/train', task=task, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    type='AGANDataset', data_root=data_root + '/test_a', task=task, pipeline=test_pipeline,
    test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [dict(type='RestorationMetric', protocol='agan_y_crop4', region_aware=True),
                 dict(type='MaskMetric')]
test_evaluator = val_evaluator
