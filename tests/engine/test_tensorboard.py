"""TensorBoard really receives the training scalars and VisualReportHook's grid.

Two training iterations of a tiny SPAIR restorer (ground-truth masks, so no Net_L
checkpoint is needed) with ``vis_backends=[dict(type='TensorboardVisBackend')]`` and
``VisualReportHook``; the event file is read back with TensorBoard's own
``EventAccumulator``.
"""
from __future__ import annotations

import pytest

from spairkit.cli.main import main
from tests.apis.conftest import TINY_CONFIG

pytest.importorskip('tensorboard')

CONFIG = f'''_base_ = [{str(TINY_CONFIG)!r}]
model = dict(use_gt_mask=True, netl_checkpoint=None)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(num_samples=4, patch_size=64))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                      dataset=dict(num_samples=2, patch_size=32))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=1000)
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', interval=1000))
log_processor = dict(window_size=1)
visualizer = dict(type='Visualizer', vis_backends=[dict(type='TensorboardVisBackend')])
custom_hooks = [dict(type='VisualReportHook', interval=1, max_images=2)]
'''


def test_tensorboard_gets_loss_scalars_and_the_comparison_image(tmp_path, capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = tmp_path / 'tb.py'
    config.write_text(CONFIG)
    work = tmp_path / 'work'
    code = main(['train', str(config), '--work-dir', str(work)])
    assert code == 0, capsys.readouterr().err
    events = sorted(work.rglob('events.out.tfevents.*'))
    assert events, f'no event file under {work}'
    acc = EventAccumulator(str(events[0].parent), size_guidance={'images': 0, 'scalars': 0})
    acc.Reload()
    tags = acc.Tags()
    assert 'loss_l1' in tags['scalars'] and 'loss' in tags['scalars'], tags['scalars']
    steps = [e.step for e in acc.Scalars('loss_l1')]
    assert steps == [1, 2]
    assert all(e.value > 0 for e in acc.Scalars('loss_l1'))
    assert 'restoration' in tags['images'], tags['images']
    images = acc.Images('restoration')
    assert [im.step for im in images] == [1, 2]
    assert images[-1].width > images[-1].height > 0  # one row per image, 4 panels wide
    assert images[-1].encoded_image_string[:4] == b'\x89PNG'
