"""How strong is each built-in synthesiser? Input scores of synthetic pairs vs. benchmarks.

For each built-in task, ``--num`` pairs (default 100) of ``--size``x``--size`` patches
(default 256) are synthesised with the task's default synthesiser over the
scikit-image photographs the demo trains on, and the *degraded input* is scored
against its clean target the way the task's benchmark scores it:

* rain streaks, raindrops, motion blur: PSNR / SSIM on the Y channel (BT.601);
* shadows: the ISTD Lab error (:func:`spairkit.evaluation.lab_error.lab_error`) on the
  shadow region, the non-shadow region and all pixels (per-pixel pooled, as Table 4
  of the SPAIR paper reports it), with the synthesiser's mask as the shadow mask.

It also prints the degraded fraction (the synthesiser's mask) and the benchmark's
published input figure beside ours (sources in docs/datasets.md, "Synthetic data
strength"). Writes ``benchmarks/results/synth_calibration.json``::

    python benchmarks/synth_calibration.py
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / 'results' / 'synth_calibration.json'
TASK_NAMES = ('rain_streak', 'raindrop', 'shadow', 'motion_blur')

#: Published scores of the *inputs* of each task's standard test set (see
#: docs/datasets.md for where each comes from).
BENCHMARKS = {
    'rain_streak': {'Rain100L': {'PSNR': 26.90, 'SSIM': 0.838},
                    'Rain100H': {'PSNR': 12.13, 'SSIM': 0.349}},
    'raindrop': {'AGAN test_a': {'PSNR': 24.09, 'SSIM': 0.852}},
    'shadow': {'ISTD test': {'Lab_shadow': 32.12, 'Lab_nonshadow': 7.19, 'Lab_all': 10.97}},
    'motion_blur': {'GoPro test': {'PSNR': 26.0}},
}


def synthesised_pairs(task: str, num: int, size: int, seed: int, overrides: dict | None):
    """``(degraded, clean, mask)`` uint8 arrays of ``num`` synthetic pairs of ``task``."""
    from spairkit.datasets.synthesized import SynthesizedPairDataset
    from spairkit.registry import TASKS

    TASKS.import_from_location()
    synth = dict(TASKS.get(task).synthesizer)
    synth.update(overrides or {})
    ds = SynthesizedPairDataset(degradation=synth, task=task, num_samples=num,
                                patch_size=size, split='train', seed=seed)
    for i in range(num):
        pair = ds.synthesize(i)
        yield pair['img'], pair['gt'], pair['mask']


def summary(values) -> dict:
    a = np.asarray(values, dtype=np.float64)
    return {'mean': round(float(a.mean()), 3), 'p10': round(float(np.percentile(a, 10)), 3),
            'median': round(float(np.median(a)), 3),
            'p90': round(float(np.percentile(a, 90)), 3),
            'min': round(float(a.min()), 3), 'max': round(float(a.max()), 3)}


def calibrate(task: str, num: int = 100, size: int = 256, seed: int = 0,
              overrides: dict | None = None) -> dict:
    """Input scores of ``num`` synthetic pairs of ``task`` (see module doc)."""
    from spairkit.evaluation.image_metrics import psnr, ssim
    from spairkit.evaluation.lab_error import lab_error

    psnrs, ssims, fractions = [], [], []
    lab = {'shadow': [0.0, 0], 'nonshadow': [0.0, 0], 'all': [0.0, 0]}
    for degraded, clean, mask in synthesised_pairs(task, num, size, seed, overrides):
        fractions.append(float(mask.mean()))
        psnrs.append(psnr(degraded, clean, y_channel=True))
        ssims.append(ssim(degraded, clean, y_channel=True))
        if task == 'shadow':
            err = lab_error(degraded, clean, mask)
            for region, acc in lab.items():
                acc[0] += err[f'Lab_{region}@sum']
                acc[1] += int(err[f'Lab_{region}@count'])
    finite = [p for p in psnrs if np.isfinite(p)]
    out = {'task': task, 'num': num, 'size': size, 'seed': seed,
           'overrides': overrides or {},
           'PSNR_Y': summary(finite), 'SSIM_Y': summary(ssims),
           'degraded_fraction': summary(fractions),
           'identical_pairs': len(psnrs) - len(finite),
           'benchmark': BENCHMARKS.get(task, {})}
    if task == 'shadow':
        out['Lab'] = {region: round(total / count, 3) if count else None
                      for region, (total, count) in lab.items()}
    return out


def table(results: list[dict]) -> str:
    """A Markdown table of the results."""
    rows = ['| task | input Y-PSNR mean (p10-p90) | input Y-SSIM mean | degraded fraction '
            'mean (p10-p90) | ours vs benchmark |', '| --- | --- | --- | --- | --- |']
    for r in results:
        p, s, f = r['PSNR_Y'], r['SSIM_Y'], r['degraded_fraction']
        if r['task'] == 'shadow':
            ours = (f"Lab S/NS/all {r['Lab']['shadow']:.2f} / {r['Lab']['nonshadow']:.2f} / "
                    f"{r['Lab']['all']:.2f}")
        else:
            ours = f"PSNR {p['mean']:.2f} dB, SSIM {s['mean']:.3f}"
        bench = '; '.join(f'{name}: ' + ', '.join(f'{k} {v}' for k, v in scores.items())
                          for name, scores in r['benchmark'].items())
        rows.append(f"| {r['task']} | {p['mean']:.2f} ({p['p10']:.2f}-{p['p90']:.2f}) | "
                    f"{s['mean']:.3f} | {f['mean']:.3f} ({f['p10']:.3f}-{f['p90']:.3f}) | "
                    f'{ours} — {bench} |')
    return '\n'.join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--tasks', default=','.join(TASK_NAMES))
    p.add_argument('--num', type=int, default=100)
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', type=Path, default=RESULTS)
    args = p.parse_args(argv)
    start = time.perf_counter()
    results = [calibrate(t, args.num, args.size, args.seed) for t in args.tasks.split(',')]
    print(table(results))
    command = 'python benchmarks/synth_calibration.py ' + ' '.join(argv or sys.argv[1:])
    payload = {'command': command.strip(),
               'photos': 'scikit-image training photographs (SKIMAGE_TRAIN_PHOTOS)',
               'seconds': round(time.perf_counter() - start, 1), 'results': results}
    tmp = args.out.with_suffix('.tmp')
    tmp.write_text(json.dumps(payload, indent=1) + '\n')
    os.replace(tmp, args.out)
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
