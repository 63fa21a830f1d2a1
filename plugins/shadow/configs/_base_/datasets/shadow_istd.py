# Data of the 'shadow' task (shadows) on its standard on-disk layout.
# ISTD (Wang et al. 2018): 1,330 training and 540 test triplets; the *_B shadow
# masks are the ground-truth masks (DeriveMask keeps them and only fills in missing ones).
#   <data_root>/{train,test}_A/<name>  shadow image
#   <data_root>/{train,test}_B/<name>  shadow mask
#   <data_root>/{train,test}_C/<name>  shadow-free image
# Point it at your copy with
#   --cfg-options train_dataloader.dataset.data_root=<data_root> \
#                 val_dataloader.dataset.data_root=<data_root> \
#                 test_dataloader.dataset.data_root=<data_root>
# Paper (Sec. 4): random 256x256 crops with random horizontal/vertical flips, batch 8.
# Masks: the dataset's own where it has one, else the task's mask rule
# (spairkit.tasks.get_task('shadow').mask_rule()), which DeriveMask reads from the sample's task.
_base_ = ['spairkit::_base_/datasets/standard_layout.py']
task = 'shadow'
data_root = 'data/ISTD_Dataset'
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
    type='ISTDDataset', data_root=data_root, split='train', task=task,
    pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    type='ISTDDataset', data_root=data_root, split='test', task=task,
    pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [dict(type='RestorationMetric', protocol='istd_lab', region_aware=False),
                 dict(type='MaskMetric')]
test_evaluator = val_evaluator
