# Synthetic 'shadow' pairs (shadows): ShadowSynthesizer on random patches of the scikit-image
# photographs (see synthetic_pairs.py). Swap in your own clean photographs with
# dataset.clean_dir=<folder>.
_base_ = ['spairkit::_base_/datasets/synthetic_pairs.py']
task = 'shadow'
degradation = dict(type='ShadowSynthesizer')

train_dataloader = dict(batch_size=8, dataset=dict(task=task, degradation=degradation))
val_dataloader = dict(dataset=dict(task=task, degradation=degradation))
test_dataloader = val_dataloader
val_evaluator = [dict(type='RestorationMetric', protocol='istd_lab', region_aware=False),
                 dict(type='MaskMetric')]
test_evaluator = val_evaluator
