# Synthetic 'motion_blur' pairs (motion blur): MotionBlurSynthesizer on random patches of the scikit-image
# photographs (see synthetic_pairs.py). Swap in your own clean photographs with
# dataset.clean_dir=<folder>.
_base_ = ['spairkit::_base_/datasets/synthetic_pairs.py']
task = 'motion_blur'
degradation = dict(type='MotionBlurSynthesizer')

train_dataloader = dict(batch_size=16, dataset=dict(task=task, degradation=degradation))
val_dataloader = dict(dataset=dict(task=task, degradation=degradation))
test_dataloader = val_dataloader
val_evaluator = [dict(type='RestorationMetric', protocol='gopro_rgb', region_aware=True),
                 dict(type='MaskMetric')]
test_evaluator = val_evaluator
