"""Memory of ``restore`` over a folder: resident set size after image 20 and image 200.

Why: a restore over thousands of files must not keep anything per image (outputs,
tensors, autograd graphs, failure tracebacks). This restores N small generated images
in-process through :func:`spairkit.apis.restore_files` (what ``spairkit restore`` runs)
and reads the RSS from ``/proc/self/statm`` after each image.

Usage::

    python benchmarks/restore_memory.py CONFIG CHECKPOINT [--num 200] [--size 24]

Prints the RSS at image 20 and at the last image and their difference in MB.

``--photo 4000x3000`` instead restores one photo-sized image (scikit-image's astronaut
resized) through the same path with ``--tile auto`` and ``--memory-budget``, and prints
the tile chosen, the wall time and the peak RSS of the restore (``VmHWM`` after a reset
that follows model loading, plus the RSS before it), optionally as JSON (``--json``).

``--forward 512x512`` measures one whole-image forward of that size the same way (the
memory per megapixel in docs/restore.md); ``--binarize-threshold 1e-9`` makes Net_L
mark every pixel degraded, the worst case for the sparse blocks. Run one size per
process: the high-water mark is per process.
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


def _status_mb(field: str) -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    raise OSError(field)


def measure_photo(model, width: int, height: int, memory_budget: str | None) -> dict:
    """Restore one ``width x height`` photo with ``tile='auto'``; time and peak RSS."""
    import time

    from skimage import data

    from spairkit.apis import plan_jobs, restore_files
    from spairkit.apis.tiling import auto_tile
    from spairkit.limits import memory_budget_bytes

    budget = memory_budget_bytes(memory_budget)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / 'photo.png'
        photo = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(src), photo[:, :, ::-1])
        del photo
        jobs = plan_jobs(src, Path(tmp) / 'restored.png')
        before = _status_mb('VmRSS')
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM to the current RSS
        start = time.perf_counter()
        failures = restore_files(model, jobs, tile='auto', progress=False,
                                 memory_budget=budget)
        seconds = time.perf_counter() - start
        if failures:
            raise RuntimeError(failures[0].reason)
    return {'width': width, 'height': height, 'memory_budget_bytes': budget,
            'tile': auto_tile(height, width, budget), 'seconds': round(seconds, 1),
            'rss_before_mb': round(before, 1), 'peak_rss_mb': round(_status_mb('VmHWM'), 1)}


def measure_forward(model, width: int, height: int) -> dict:
    """Peak RSS added by one whole-image ``restore_image`` of ``width x height``."""
    import time

    from skimage import data

    from spairkit.apis import restore_image

    image = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    restore_image(model, image[:64, :64])  # warm-up: operators loaded, allocator primed
    before = _status_mb('VmRSS')
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    start = time.perf_counter()
    result = restore_image(model, image, tile=None)
    seconds = time.perf_counter() - start
    added = _status_mb('VmHWM') - before
    return {'width': width, 'height': height, 'seconds': round(seconds, 2),
            'forward_mb': round(added, 1), 'mb_per_mpx': round(added / (width * height / 1e6), 1),
            'degraded_fraction': round(float(
                (result.mask > getattr(model, 'binarize_threshold', 0.5)).mean()), 3)}


def main() -> None:
    import json

    import torch

    from spairkit.apis import init_restorer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--num', type=int, default=200)
    parser.add_argument('--size', type=int, default=24)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--photo', default=None, metavar='WxH',
                        help='restore one photo of this size with --tile auto instead')
    parser.add_argument('--memory-budget', default=None)
    parser.add_argument('--forward', default=None, metavar='WxH',
                        help='measure one whole-image forward of this size instead')
    parser.add_argument('--binarize-threshold', type=float, default=None,
                        help='override model.binarize_threshold (1e-9: every pixel degraded)')
    parser.add_argument('--json', default=None, help='also write the --photo result here')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    options = ([('model.binarize_threshold', args.binarize_threshold)]
               if args.binarize_threshold is not None else None)
    model = init_restorer(args.config, args.checkpoint, cfg_options=options)
    if args.forward:
        width, height = (int(v) for v in args.forward.lower().split('x'))
        print(json.dumps({**measure_forward(model, width, height), 'threads': args.threads,
                          'binarize_threshold': args.binarize_threshold}))
        return
    if args.photo:
        width, height = (int(v) for v in args.photo.lower().split('x'))
        result = {**measure_photo(model, width, height, args.memory_budget),
                  'threads': args.threads, 'config': args.config}
        print(json.dumps(result))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + '\n')
        return
    readings = measure(model, args.num, args.size, checkpoints=(20, args.num))
    first, last = readings[20], readings[args.num]
    print(f'RSS after image 20: {first:.1f} MB; after image {args.num}: {last:.1f} MB; '
          f'growth {last - first:+.1f} MB ({args.size}x{args.size} images, masks saved)')


if __name__ == '__main__':
    main()
