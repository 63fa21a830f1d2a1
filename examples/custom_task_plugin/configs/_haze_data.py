# Synthetic haze over the photographs that ship with scikit-image (no downloads), on
# spairkit's task-agnostic synthetic-pair base: only the task, its synthesiser and the
# evaluators are the plugin's own.
_base_ = ['spairkit::_base_/datasets/synthetic_pairs.py']
task = 'haze'
degradation = dict(type='HazeSynthesizer')

train_dataloader = dict(batch_size=8, dataset=dict(task=task, degradation=degradation))
val_dataloader = dict(dataset=dict(task=task, degradation=degradation))
test_dataloader = val_dataloader
# The plugin's protocol (spairkit_haze/__init__.py) next to its own haze metric.
val_evaluator = [dict(type='RestorationMetric', protocol='haze_rgb', region_aware=True),
                 dict(type='HazeMetric')]
test_evaluator = val_evaluator
