"""``spairkit synth TASK --src DIR --out DIR``: synthesise degraded/clean/mask pairs.

Feeds training when no real data is at hand: every clean image under ``--src``
(recursively) is degraded by the task's synthesiser and written as
``OUT/input/NAME.png`` (degraded), ``OUT/target/NAME.png`` (clean) and
``OUT/mask/NAME.png`` (0 = clean, 255 = degraded) - the input/ + target/ layout
that ``PairedFolderDataset`` (``mask_dir='mask'``) reads back. Pair ``i`` uses
``numpy.random.default_rng([seed, i])``, so a run is reproducible and its names are
stable (``NNNNNN_<source stem>.png``). Unreadable sources are reported and skipped;
the other pairs are still written, and the exit code is 1 if any source failed.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from spairkit.errors import DataError, UserError

NAME = 'synth'
HELP = 'synthesise degraded/clean/mask training pairs for a task from clean images'
SOURCE_EXTENSIONS = ('.png', '.jpg', '.jpeg')
SUBFOLDERS = ('input', 'target', 'mask')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('task',
                        help="registered task, e.g. rain_streak (see 'spairkit list tasks')")
    parser.add_argument('--src', required=True, type=Path,
                        help='folder of clean images (searched recursively; png/jpg)')
    parser.add_argument('--out', required=True, type=Path,
                        help='output folder; input/, target/ and mask/ are written inside')
    parser.add_argument('--num', type=int, default=None,
                        help='number of pairs in total (default: one per source image); '
                             'sources are reused in turn when it exceeds their count')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')


def find_sources(src: Path) -> list[Path]:
    """Every png/jpg file under ``src``, in a stable (sorted) order."""
    if not src.is_dir():
        raise DataError(f'--src is not a folder: {src}')
    found = sorted(p for p in src.rglob('*')
                   if p.is_file() and p.suffix.lower() in SOURCE_EXTENSIONS)
    if not found:
        raise DataError(f'no png/jpg images found under --src {src}')
    return found


def check_not_overlapping(src: Path, out: Path) -> None:
    """Refuse an --out that is --src, lies inside it, or contains it."""
    src_r, out_r = src.resolve(), out.resolve()
    if src_r == out_r or src_r in out_r.parents or out_r in src_r.parents:
        raise UserError(f'--out {out} overlaps --src {src}; '
                        'synth never writes into its source folder')


def readable_sources(sources: list[Path], num: int, failed: dict[Path, str],
                     cycle: bool = True) -> Iterator[tuple[int, Path, np.ndarray]]:
    """``(pair index, path, image)`` for up to ``num`` pairs over the readable sources.

    With ``cycle`` the sources are reused in turn until ``num`` pairs are made;
    without it each source is used once. A source that cannot be read is recorded in
    ``failed`` once and not tried again.
    """
    from spairkit.datasets import read_image

    pool = list(sources)
    produced = 0
    while produced < num and pool:
        for path in list(pool):
            if produced >= num:
                return
            try:
                image = read_image(str(path))
            except (DataError, OSError, cv2.error) as exc:
                failed[path] = str(exc).splitlines()[0]
                pool.remove(path)
                continue
            yield produced, path, image
            produced += 1
        if not cycle:
            return


def write_png(path: Path, image: np.ndarray) -> None:
    """Write an RGB (or single-channel) image as PNG; an OS failure names the file."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode('.png', image)
    if not ok:
        raise DataError(f'could not encode {path}')
    try:
        encoded.tofile(str(path))
    except OSError as exc:
        raise UserError(f'cannot write {path}: {exc.strerror or exc}') from exc


def run(args: argparse.Namespace) -> int:
    from spairkit.tasks import get_task

    if args.num is not None and args.num < 1:
        raise UserError(f'--num must be at least 1, got {args.num}')
    if args.seed < 0:  # numpy's SeedSequence takes non-negative integers only
        raise UserError(f'--seed must be a non-negative integer, got {args.seed}')
    task = get_task(args.task)
    check_not_overlapping(args.src, args.out)
    sources = find_sources(args.src)
    num = len(sources) if args.num is None else args.num
    synthesizer = task.build_synthesizer()
    for sub in SUBFOLDERS:
        (args.out / sub).mkdir(parents=True, exist_ok=True)

    failed: dict[Path, str] = {}
    written = 0
    for index, path, clean in readable_sources(sources, num, failed,
                                               cycle=args.num is not None):
        try:
            degraded, mask = synthesizer(clean, np.random.default_rng([args.seed, index]))
        except DataError as exc:
            failed[path] = str(exc).splitlines()[0]
            continue
        name = f'{index:06d}_{path.stem}.png'
        write_png(args.out / 'input' / name, degraded)
        write_png(args.out / 'target' / name, clean)
        write_png(args.out / 'mask' / name, mask * np.uint8(255))
        written += 1

    print(f"spairkit synth: wrote {written} '{task.name}' pairs to {args.out} "
          f"({', '.join(s + os.sep for s in SUBFOLDERS)})")
    if failed:
        for path, reason in failed.items():
            print(f'spairkit synth: skipped {path}: {reason}', file=sys.stderr)
        print(f'spairkit synth: {len(failed)} of {len(sources)} source images failed',
              file=sys.stderr)
        return 1
    return 0
