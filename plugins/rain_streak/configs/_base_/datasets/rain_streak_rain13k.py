# Data of the 'rain_streak' task (rain streaks) on its standard on-disk layout.
# Rain13K as distributed with MPRNet/MSPFN: 13,712 training pairs, tested on
# Rain100H (also Rain100L, Test100, Test1200, Test2800: same input/ + target/ layout).
#   <data_root>/train/Rain13K/{input,target}/<name>
#   <data_root>/test/Rain100H/{input,target}/<name>
# Point it at your copy with
#   --cfg-options train_dataloader.dataset.data_root=<data_root>/train/Rain13K \
#                 val_dataloader.dataset.data_root=<data_root>/test/Rain100H \
#                 test_dataloader.dataset.data_root=<data_root>/test/Rain100H
# Paper (Sec. 4): random 256x256 crops with random horizontal/vertical flips, batch 8.
# Masks: the dataset's own where it has one, else the task's mask rule
# (spairkit.tasks.get_task('rain_streak').mask_rule()), which DeriveMask reads from the sample's task.
_base_ = ['spairkit::_base_/datasets/standard_layout.py']
task = 'rain_streak'
data_root = 'data/Datasets'
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
    type='Rain13KDataset', data_root=data_root + '/train/Rain13K', task=task,
    pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    type='Rain13KDataset', data_root=data_root + '/test/Rain100H', task=task,
    pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [dict(type='RestorationMetric', protocol='rain13k_y', region_aware=True),
                 dict(type='MaskMetric')]
test_evaluator = val_evaluator
