"""``spairkit demo``: the embedded end-to-end example (see SPEC.md)."""
from __future__ import annotations

import argparse

NAME = 'demo'
HELP = ('train a small SPAIR on rain streaks synthesised over scikit-image photos (CPU) and '
        'write model.py, model.pth, report.md and comparison.png')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', default='demo_work', help='output folder')
    parser.add_argument('--task', default='rain_streak',
                        help='built-in task to synthesise, train on and evaluate '
                             '(default rain_streak; an unknown name lists the others)')
    parser.add_argument('--fast', action='store_true',
                        help='a few iterations only (checks the pipeline, not the quality)')


def run(args: argparse.Namespace) -> int:
    from spairkit.demo import run_demo

    result = run_demo(args.work_dir, fast=args.fast, task=args.task)
    m = result.metrics
    print(f"held-out PSNR (Y): input {m['input_PSNR']:.2f} dB -> output {m['PSNR']:.2f} dB; "
          f"SSIM {m['input_SSIM']:.4f} -> {m['SSIM']:.4f}")
    print(f'wrote {result.work_dir}/model.py, model.pth, report.md, comparison.png '
          f"in {result.timings['total']:.0f} s")
    return 0
