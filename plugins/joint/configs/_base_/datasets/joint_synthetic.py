# Synthetic 'joint' pairs (rain streaks, then raindrops on the glass): the core's
# SequentialDegradation of the two plugins' synthesisers (calibrated defaults) on random
# patches of the scikit-image photographs (see synthetic_pairs.py). Swap in your own clean
# photographs with dataset.clean_dir=<folder>.
_base_ = ['spairkit::_base_/datasets/synthetic_pairs.py']
task = 'joint'
degradation = dict(type='SequentialDegradation',
                   degradations=[dict(type='RainStreakSynthesizer'),
                                 dict(type='RaindropSynthesizer')])

train_dataloader = dict(batch_size=8, dataset=dict(task=task, degradation=degradation))
val_dataloader = dict(dataset=dict(task=task, degradation=degradation))
test_dataloader = val_dataloader
val_evaluator = [dict(type='RestorationMetric', protocol='rain13k_y', region_aware=True),
                 dict(type='MaskMetric')]
test_evaluator = val_evaluator
