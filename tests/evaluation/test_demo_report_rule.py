"""The demo report names the regions by the trained task's own mask rule."""
from __future__ import annotations

from spairkit.demo.report import render_report

METRICS = {'PSNR': 30.0, 'input_PSNR': 25.0, 'SSIM': 0.9, 'input_SSIM': 0.8,
           'PSNR_degraded': 20.0, 'PSNR_clean': 40.0, 'mask/IoU': 0.5}
TIMINGS = {'total': 10.0, 'localizer': 4.0, 'restorer': 5.0, 'evaluate': 1.0}


def settings(task: str) -> dict:
    return dict(task=task, train_photos=('astronaut',), heldout_photos=('coffee',),
                num_heldout=2, heldout_size=48, netl_iters=3, spair_iters=3, batch_size=2,
                crop_size=48, cpus=1, torch='x', backend='torch', command='spairkit demo')


def test_report_states_rain_streaks_luma_rule():
    text = render_report(METRICS, TIMINGS, settings('rain_streak'))
    assert "rain_streak task's mask rule (`|Y(input) - Y(clean)| > 0.06`)" in text
    assert 'max_c |input - clean| > 0.1' not in text


def test_report_states_another_tasks_rule():
    text = render_report(METRICS, TIMINGS, settings('raindrop'))
    assert "raindrop task's mask rule (`max_c |input - clean| > 0.08`)" in text
