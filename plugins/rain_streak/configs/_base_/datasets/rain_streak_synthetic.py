# Synthetic 'rain_streak' pairs (rain streaks): RainStreakSynthesizer on random patches of the scikit-image
# photographs (see synthetic_pairs.py). Swap in your own clean photographs with
# dataset.clean_dir=<folder>.
_base_ = ['spairkit::_base_/datasets/synthetic_pairs.py']
task = 'rain_streak'
degradation = dict(type='RainStreakSynthesizer')

train_dataloader = dict(batch_size=8, dataset=dict(task=task, degradation=degradation))
val_dataloader = dict(dataset=dict(task=task, degradation=degradation))
test_dataloader = val_dataloader
val_evaluator = [dict(type='RestorationMetric', protocol='rain13k_y', region_aware=True),
                 dict(type='MaskMetric')]
test_evaluator = val_evaluator
