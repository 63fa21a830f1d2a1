"""Memory of ``restore`` over a folder: resident set size after image 20 and image 200.

Why: a restore over thousands of files must not keep anything per image (outputs,
tensors, autograd graphs, failure tracebacks). This restores N small generated images
in-process through :func:`spairkit.apis.restore_files` (what ``spairkit restore`` runs)
and reads the RSS from ``/proc/self/statm`` after each image.

Usage::

    python benchmarks/restore_memory.py CONFIG CHECKPOINT [--num 200] [--size 24]

Prints the RSS at image 20 and at the last image and their difference in MB.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np


def rss_mb() -> float:
    """Current resident set size in MB (Linux: /proc/self/statm)."""
    with open('/proc/self/statm') as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf('SC_PAGE_SIZE') / 2**20


def write_images(folder: Path, num: int, size: int, seed: int = 0) -> None:
    """``num`` random ``size x size`` 8-bit PNGs (random content: every mask differs)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(num):
        img = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f'img_{i:04d}.png'), img)


def measure(model, num: int = 200, size: int = 24, checkpoints=(20, 200),
            save_mask: bool = True) -> dict[int, float]:
    """Restore ``num`` generated images with ``model``; RSS (MB) after each image in
    ``checkpoints``."""
    from spairkit.apis import plan_jobs, restore_files

    readings: dict[int, float] = {}

    def on_image(n: int) -> None:
        if n in checkpoints:
            readings[n] = rss_mb()

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / 'in', Path(tmp) / 'out'
        write_images(src, num, size)
        jobs = plan_jobs(src, out, save_mask=save_mask)
        failures = restore_files(model, jobs, progress=False, on_image=on_image)
        if failures:
            raise RuntimeError(f'{len(failures)} images failed, first: {failures[0]}')
    return readings


def main() -> None:
    import torch

    from spairkit.apis import init_restorer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--num', type=int, default=200)
    parser.add_argument('--size', type=int, default=24)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = init_restorer(args.config, args.checkpoint)
    readings = measure(model, args.num, args.size, checkpoints=(20, args.num))
    first, last = readings[20], readings[args.num]
    print(f'RSS after image 20: {first:.1f} MB; after image {args.num}: {last:.1f} MB; '
          f'growth {last - first:+.1f} MB ({args.size}x{args.size} images, masks saved)')


if __name__ == '__main__':
    main()
