"""Where a trained restorer loses the clean region: clean pixels inside vs outside the gate.

Loads a restorer-stage checkpoint (e.g. the demo's ``<work>/restorer/iter_700.pth``)
with its config (default: the demo's, with the task's synthesiser and rule swapped in
as ``spairkit demo --task`` does), runs the held-out set and splits the pixels by the
task's ground-truth mask and by the model's gate (Net_L's mask > 0.5, dilated as the
model's ``MaskGatedBlend``): share of the image, input and output MSE on Y (BT.601).
Then replays the same Net_R output through other gates (binary at several
thresholds and dilations, or a blend by Net_L's probability) and prints the pooled
Y-PSNR overall / degraded / clean of each, to tell a gate problem from a restorer
problem. Not part of CI (docs/benchmarks.md, "Clean pixels")::

    python benchmarks/clean_pixels.py --task rain_streak \\
        --checkpoint /tmp/demos/rain_streak/restorer/iter_700.pth
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F


def _luma(img: torch.Tensor) -> torch.Tensor:
    return (65.481 * img[:, 0] + 128.553 * img[:, 1] + 24.966 * img[:, 2] + 16) / 255.0


def _dilate(binary: torch.Tensor, radius: int) -> torch.Tensor:
    return F.max_pool2d(binary, 2 * radius + 1, 1, radius) if radius else binary


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--task', default='rain_streak')
    p.add_argument('--config', default='spairkit::demo/demo_restorer.py')
    p.add_argument('--checkpoint', required=True)
    p.add_argument('--threads', type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from spairkit.checkpoint import load_checkpoint_file
    from spairkit.demo import pipeline
    from spairkit.registry import DATASETS, MODELS

    cfg = pipeline._stage_config(args.config, Path('/tmp/clean_pixels'), False, args.task)
    cfg.model.netl_checkpoint = None
    model = MODELS.build(cfg.model)
    model.load_state_dict(load_checkpoint_file(args.checkpoint)['state_dict'])
    model.eval()
    gate_module, model.output_gate = model.output_gate, None  # Net_R's raw output
    dilation = getattr(gate_module, 'dilation', 0)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    split = {k: [0, 0.0, 0.0] for k in ('clean_outside_gate', 'clean_inside_gate', 'degraded')}
    replay: dict[str, list[float]] = {}
    for i in range(len(dataset)):
        sample = dataset[i]
        data = model.data_preprocessor({'inputs': [sample['inputs']],
                                        'data_samples': [sample['data_samples']]})
        x = data['inputs']
        with torch.no_grad():
            logits, feats = model.netl(x)
            prob = torch.sigmoid(logits)
            raw = model._restore(x, data['data_samples'], logits, feats).clamp(0, 1)
            result = model.predict(x, data['data_samples'])[0]
        gt = result['gt'].float().unsqueeze(0)
        gt = gt / 255.0 if gt.max() > 1.5 else gt
        degraded = result['mask'].float().view(1, *x.shape[-2:]) > 0.5
        y_gt = _luma(gt)
        err_in, err_raw = (_luma(x) - y_gt) ** 2, (_luma(raw) - y_gt) ** 2
        gate = _dilate((prob > 0.5).float(), dilation)[:, 0] > 0.5
        err_out = torch.where(gate, err_raw, err_in)
        for name, sel in (('clean_outside_gate', ~degraded & ~gate),
                          ('clean_inside_gate', ~degraded & gate), ('degraded', degraded)):
            split[name][0] += int(sel.sum())
            split[name][1] += float(err_in[sel].sum())
            split[name][2] += float(err_out[sel].sum())
        variants = {'input': x, 'raw (no gate)': raw}
        for d in (0, 1, 2):
            for t in (0.5, 0.7, 0.9):
                variants[f'binary p>{t} dilation {d}'] = \
                    x + _dilate((prob > t).float(), d) * (raw - x)
        variants['blend by probability'] = x + prob * (raw - x)
        for name, img in variants.items():
            err = (_luma(img) - y_gt) ** 2
            acc = replay.setdefault(name, [0.0, 0.0, 0, 0])
            acc[0] += float(err[degraded].sum())
            acc[1] += float(err[~degraded].sum())
            acc[2] += int(degraded.sum())
            acc[3] += int((~degraded).sum())
    total = sum(v[0] for v in split.values())
    rows = {k: dict(share=round(n / total, 3), input_mse=sx / max(n, 1),
                    output_mse=so / max(n, 1)) for k, (n, sx, so) in split.items()}
    for k, r in rows.items():
        print(f"{k:20s} share {r['share']:.3f}  input MSE {r['input_mse']:.2e}  "
              f"output MSE {r['output_mse']:.2e}")

    def psnr(mse):
        return -10 * math.log10(max(mse, 1e-12))

    print('\npooled Y-PSNR of the same Net_R output through other gates:')
    pooled = {}
    for name, (sd, sc, nd, nc) in replay.items():
        pooled[name] = dict(all=round(psnr((sd + sc) / (nd + nc)), 2),
                            degraded=round(psnr(sd / max(nd, 1)), 2),
                            clean=round(psnr(sc / max(nc, 1)), 2))
        print(f"{name:26s} all {pooled[name]['all']:6.2f}  degraded "
              f"{pooled[name]['degraded']:6.2f}  clean {pooled[name]['clean']:6.2f}")
    print(json.dumps({'task': args.task, 'checkpoint': args.checkpoint, 'split': rows,
                      'replay': pooled}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
