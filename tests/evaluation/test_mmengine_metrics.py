"""RestorationMetric / MaskMetric consume predict dicts as MMEngine evaluators do."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import perturbed, textured

from spairkit.errors import ConfigError, DataError
from spairkit.evaluation import get_protocol, mask_scores, psnr, region_psnr, ssim
from spairkit.registry import METRICS


def as_tensor(img: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> (3,H,W) float in [0,1], as the model returns images."""
    return torch.from_numpy(img).permute(2, 0, 1).float() / 255.0


def predict_dict(seed: int, task: str = 'rain_streak', with_mask: bool = True) -> dict:
    gt = textured(24, 28, seed=seed)
    inp = gt.copy()
    streaks = np.zeros((24, 28), bool)
    streaks[:, 6:9] = True
    inp[streaks] = 250
    pred = perturbed(gt, seed=seed + 100, amplitude=3)
    sample = {'pred': as_tensor(pred), 'input': as_tensor(inp), 'gt': as_tensor(gt),
              'pred_mask': torch.from_numpy(streaks[None].astype(np.float32) * 0.9),
              'metainfo': {'img_path': f'img{seed}.png', 'task': task, 'max_value': 255}}
    if with_mask:
        sample['mask'] = torch.from_numpy(streaks[None].astype(np.float32))
    return sample, (inp, pred, gt, streaks)


def test_restoration_metric_reports_protocol_input_and_region_keys():
    metric = METRICS.build(dict(type='RestorationMetric', protocol='rain13k_y',
                                region_aware=True))
    samples, arrays = zip(*(predict_dict(s) for s in (1, 2)))
    metric.process({}, list(samples))
    out = metric.evaluate(2)
    inp, pred, gt, mask = arrays[0]
    inp2, pred2, gt2, mask2 = arrays[1]
    expected = (psnr(pred, gt, y_channel=True) + psnr(pred2, gt2, y_channel=True)) / 2
    assert out['PSNR'] == pytest.approx(expected)
    assert out['SSIM'] == pytest.approx(
        (ssim(pred, gt, y_channel=True) + ssim(pred2, gt2, y_channel=True)) / 2)
    assert out['input_PSNR_clean'] == math.inf  # the input is untouched off the streaks
    degraded = [region_psnr(p, g, m, y_channel=True).degraded
                for _, p, g, m in (arrays[0], arrays[1])]
    assert out['PSNR_degraded'] == pytest.approx(np.mean(degraded))
    assert out['degraded_fraction'] == pytest.approx(3 / 28)
    assert out['input_PSNR_degraded'] < out['PSNR_degraded']
    assert {'SSIM_degraded', 'SSIM_clean', 'input_SSIM', 'input_SSIM_degraded'} <= set(out)


def test_quantisation_rounds_like_saving_a_png():
    sample, (_, pred, gt, _) = predict_dict(3)
    sample['pred'] = sample['pred'] + 0.4 / 255  # rounds back to the same 8-bit image
    metric = METRICS.build(dict(type='RestorationMetric', protocol='gopro_rgb',
                                evaluate_input=False))
    metric.process({}, [sample])
    assert metric.evaluate(1) == {'PSNR': psnr(pred, gt), 'SSIM': ssim(pred, gt)}


def test_mask_is_derived_by_the_configured_rule_when_absent():
    sample, (inp, pred, gt, streaks) = predict_dict(4, with_mask=False)
    metric = METRICS.build(dict(type='RestorationMetric', protocol='gopro_rgb',
                                region_aware=True, mask_rule=dict(threshold=0.1, on='max')))
    metric.process({}, [sample])
    out = metric.evaluate(1)
    derived = np.abs(inp.astype(int) - gt.astype(int)).max(axis=2) / 255 > 0.1
    assert out['PSNR_degraded'] == pytest.approx(region_psnr(pred, gt, derived).degraded)
    # The deprecated shorthand means the same max-channel rule.
    old = METRICS.build(dict(type='RestorationMetric', protocol='gopro_rgb',
                             region_aware=True, mask_threshold=0.1))
    old.process({}, [sample])
    assert old.evaluate(1) == out
    sample['metainfo']['task'] = ''
    no_rule = METRICS.build(dict(type='RestorationMetric', region_aware=True))
    with pytest.raises(DataError, match="img4.png.*names no task"):
        no_rule.process({}, [sample])
    with pytest.raises(ConfigError, match='mask_rule'):
        METRICS.build(dict(type='RestorationMetric', mask_rule=dict(threshold=0.1, on='lab')))


def rain_rule_sample() -> tuple[dict, np.ndarray, np.ndarray]:
    """A rain-streak sample without a mask where the two rules disagree.

    Columns 4-7: red +40 (15.7% on the largest channel, 4.7% on luma): degraded for a
    max-channel 0.1 rule, clean for rain streaks' luma 0.06 rule. Columns 14-17: grey
    +20 (7.8% on both): clean for max/0.1, degraded for luma/0.06.
    """
    gt = np.full((16, 24, 3), 100, np.uint8)
    inp = gt.copy()
    inp[:, 4:8, 0] += 40
    inp[:, 14:18] += 20
    sample = {'pred': as_tensor(gt), 'input': as_tensor(inp), 'gt': as_tensor(gt),
              'pred_mask': torch.zeros(1, 16, 24),
              'metainfo': {'img_path': 'rain.png', 'task': 'rain_streak', 'max_value': 255}}
    luma = np.zeros((16, 24), bool)
    luma[:, 14:18] = True
    chroma = np.zeros((16, 24), bool)
    chroma[:, 4:8] = True
    return sample, luma, chroma


def test_regions_follow_the_samples_task_rule_rain_streak_y_006():
    """Without a mask and without a configured rule, RestorationMetric and MaskMetric
    split the image by the task's own rule: rain streaks are luma changes above 6%."""
    from spairkit.tasks import get_task

    assert get_task('rain_streak').mask_rule() == dict(threshold=0.06, on='y')
    sample, luma, chroma = rain_rule_sample()
    metric = METRICS.build(dict(type='RestorationMetric', protocol='rain13k_y',
                                region_aware=True))
    metric.process({}, [sample])
    assert metric.evaluate(1)['degraded_fraction'] == pytest.approx(luma.mean())
    # The old, drifted rule (largest channel at 0.1) would have split it elsewhere.
    drifted = METRICS.build(dict(type='RestorationMetric', protocol='rain13k_y',
                                 region_aware=True, mask_rule=dict(threshold=0.1, on='max')))
    drifted.process({}, [sample])
    assert drifted.evaluate(1)['degraded_fraction'] == pytest.approx(chroma.mean())
    masks = METRICS.build(dict(type='MaskMetric'))
    sample['pred_mask'] = torch.from_numpy(luma[None].astype(np.float32))
    masks.process({}, [sample])
    assert masks.evaluate(1)['mask/IoU'] == 1.0   # the reference is the luma mask


def test_per_task_protocols_and_task_filter():
    rain, (_, p1, g1, _) = predict_dict(5, task='rain_streak')
    drop, (_, p2, g2, _) = predict_dict(6, task='raindrop')
    protocols = dict(rain_streak='rain13k_y', raindrop='agan_y_crop4')
    metric = METRICS.build(dict(type='RestorationMetric', per_task=True, protocols=protocols))
    metric.process({}, [rain, drop])
    out = metric.evaluate(2)
    assert out['rain_streak/PSNR'] == pytest.approx(psnr(p1, g1, y_channel=True))
    agan = get_protocol('agan_y_crop4')
    assert out['raindrop/PSNR'] == pytest.approx(agan.evaluate(p2, g2)['PSNR'])
    assert 'PSNR' not in out and 'raindrop/input_SSIM' in out

    only_drop = METRICS.build(dict(type='RestorationMetric', task='raindrop',
                                   protocol='agan_y_crop4', prefix='val'))
    only_drop.process({}, [rain, drop])
    assert only_drop.evaluate(1)['val/PSNR'] == pytest.approx(out['raindrop/PSNR'])


def test_istd_protocol_uses_the_sample_mask():
    sample, (_, pred, gt, mask) = predict_dict(7, task='shadow')
    metric = METRICS.build(dict(type='RestorationMetric', protocol='istd_lab'))
    metric.process({}, [sample])
    out = metric.evaluate(1)
    assert {'Lab_all', 'Lab_shadow', 'Lab_nonshadow', 'Lab_shadow_pp',
            'input_Lab_shadow'} <= set(out)
    assert out['input_Lab_shadow'] > out['Lab_shadow']
    del sample['mask']
    with pytest.raises(DataError, match="img7.png.*istd_lab.*'mask'"):
        metric.process({}, [sample])


def test_configuration_errors_are_one_line_config_errors():
    with pytest.raises(ConfigError, match='unknown evaluation protocol'):
        METRICS.build(dict(type='RestorationMetric', protocol='nope'))
    with pytest.raises(ConfigError, match='realblur_aligned'):
        METRICS.build(dict(type='RestorationMetric', protocol='realblur_aligned',
                           region_aware=True))


def test_mask_metric_pools_counts():
    s1, (_, _, _, m1) = predict_dict(8)
    s2, _ = predict_dict(9)
    s2['pred_mask'] = torch.zeros_like(s2['pred_mask'])  # misses everything
    metric = METRICS.build(dict(type='MaskMetric'))
    metric.process({}, [s1, s2])
    out = metric.evaluate(2)
    expected = mask_scores(np.concatenate([m1, np.zeros_like(m1)]), np.concatenate([m1, m1]))
    for key, value in expected.items():
        assert out[f'mask/{key}'] == pytest.approx(value)
    assert out['mask/mIoU'] == pytest.approx(0.5)
    per_task = METRICS.build(dict(type='MaskMetric', per_task=True, prefix='val'))
    per_task.process({}, [s1])
    assert per_task.evaluate(1)['val/rain_streak/IoU'] == 1.0


def test_mask_metric_derives_the_reference_and_names_missing_data():
    sample, _ = predict_dict(10, with_mask=False)
    metric = METRICS.build(dict(type='MaskMetric', mask_threshold=0.1))
    metric.process({}, [sample])
    assert metric.evaluate(1)['mask/IoU'] == 1.0  # the streaks are exactly the derived mask
    assert metric.mask_rule.to_dict() == dict(threshold=0.1, on='max')
    sample['metainfo'].pop('task')
    with pytest.raises(DataError, match="img10.png: no 'mask'.*names no task"):
        METRICS.build(dict(type='MaskMetric')).process({}, [sample])
    with pytest.raises(DataError, match="img10.png: per_task=True"):
        METRICS.build(dict(type='RestorationMetric', per_task=True)).process({}, [sample])
