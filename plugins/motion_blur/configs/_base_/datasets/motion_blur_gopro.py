# Data of the 'motion_blur' task (motion blur) on its standard on-disk layout.
# GoPro (GOPRO_Large, Nah et al. 2017): 2,103 training and 1,111 test pairs.
#   <data_root>/{train,test}/<sequence>/{blur,sharp}/<frame>.png
# HIDE (input/ + target/, protocol gopro_rgb) and RealBlur-J (protocol realblur_aligned)
# evaluate the GoPro-trained model: swap test_dataloader.dataset for HIDEDataset or
# RealBlurDataset and the evaluator protocol (see plugins/motion_blur/README.md).
# Point it at your copy with
#   --cfg-options train_dataloader.dataset.data_root=<data_root> \
#                 val_dataloader.dataset.data_root=<data_root> \
#                 test_dataloader.dataset.data_root=<data_root>
# Paper (Sec. 4): random 256x256 crops with random horizontal/vertical flips, batch 16.
# Masks: the dataset's own where it has one, else the task's mask rule
# (spairkit.tasks.get_task('motion_blur').mask_rule()), which DeriveMask reads from the sample's task.
_base_ = ['spairkit::_base_/datasets/standard_layout.py']
task = 'motion_blur'
data_root = 'data/GOPRO_Large'
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

train_dataloader = dict(batch_size=16, dataset=dict(
    type='GoProDataset', data_root=data_root, split='train', task=task,
    pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    type='GoProDataset', data_root=data_root, split='test', task=task,
    pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [dict(type='RestorationMetric', protocol='gopro_rgb', region_aware=True),
                 dict(type='MaskMetric')]
test_evaluator = val_evaluator
