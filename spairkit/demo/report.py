"""The demo's ``report.md``: held-out metrics of the input and the output, and timings."""
from __future__ import annotations

import math
import platform
from collections.abc import Mapping

from spairkit.mask_rule import task_mask_rule

ROWS = (('PSNR', 'PSNR (Y)'), ('SSIM', 'SSIM (Y)'),
        ('PSNR_degraded', 'PSNR degraded'), ('PSNR_clean', 'PSNR clean'),
        ('SSIM_degraded', 'SSIM degraded'), ('SSIM_clean', 'SSIM clean'))


def _fmt(value) -> str:
    if value is None:
        return 'n/a'
    value = float(value)
    if math.isinf(value):
        return 'inf'
    return f'{value:.4f}' if abs(value) < 2 else f'{value:.2f}'


def render_report(metrics: Mapping[str, float], timings: Mapping[str, float],
                  settings: Mapping[str, object]) -> str:
    """Markdown with the metric table (input vs output), mask scores and wall times.

    ``settings['task']`` names the task trained; the degraded/clean regions of the
    table are its mask rule's (:func:`spairkit.mask_rule.task_mask_rule`).
    """
    task = str(settings['task'])
    regions = task_mask_rule(task)
    header = '| | ' + ' | '.join(label for _, label in ROWS) + ' |'
    rule = '|---' * (len(ROWS) + 1) + '|'
    row_in = '| input | ' + ' | '.join(_fmt(metrics.get(f'input_{k}')) for k, _ in ROWS) + ' |'
    row_out = '| output | ' + ' | '.join(_fmt(metrics.get(k)) for k, _ in ROWS) + ' |'
    gain = float(metrics['PSNR']) - float(metrics['input_PSNR'])
    lines = [
        '# spairkit demo report',
        '',
        f'Task `{task}`: its synthesiser applied to the photographs that ship with '
        'scikit-image. '
        f"Net_L, then SPAIR (SFM + SC + SNL) with the frozen Net_L, trained on CPU on "
        f"photos {', '.join(settings['train_photos'])}; evaluated on "
        f"{settings['num_heldout']} held-out {settings['heldout_size']}x"
        f"{settings['heldout_size']} images from photos never seen in training "
        f"({', '.join(settings['heldout_photos'])}).",
        '',
        '## Held-out images (Y channel, MATLAB-style BT.601)',
        '',
        header, rule, row_in, row_out,
        '',
        f'PSNR gain of the output over the input: **{gain:+.2f} dB**. '
        "Degraded / clean regions: pixels of the ground-truth mask, made by the "
        f"{task} task's mask rule (`{regions.describe()}`).",
        '',
        '## Net_L mask on the held-out images',
        '',
        f"IoU {_fmt(metrics.get('mask/IoU'))}, F1 {_fmt(metrics.get('mask/F1'))}, "
        f"precision {_fmt(metrics.get('mask/precision'))}, "
        f"recall {_fmt(metrics.get('mask/recall'))}, "
        f"balanced error rate {_fmt(metrics.get('mask/BER'))} (probability > 0.5).",
        '',
        '## Run',
        '',
        f"- Net_L: {settings['netl_iters']} iterations; SPAIR: {settings['spair_iters']} "
        f"iterations; batch {settings['batch_size']}, {settings['crop_size']}x"
        f"{settings['crop_size']} crops"
        + (f" of {settings['train_patch']}x{settings['train_patch']} synthesised patches"
           if settings.get('train_patch') else '') + '.',
        f"- Wall time: **{timings['total']:.0f} s** in all (Net_L {timings['localizer']:.0f} s, "
        f"SPAIR {timings['restorer']:.0f} s, evaluation and export {timings['evaluate']:.0f} s).",
        f"- Machine: {platform.machine()}, torch threads: {settings['cpus']}, "
        f"Python {platform.python_version()}, torch {settings['torch']}, "
        f"operator backend `{settings['backend']}`.",
        f"- Command: `{settings['command']}`",
        '',
        '`comparison.png`: input | predicted mask | output | target.',
        '',
    ]
    return '\n'.join(lines)
