"""Restoring files and folders: planning what to write, then restoring every readable image.

This is the engine of ``spairkit restore``; it lives here rather than in the command so
that programs (and the memory benchmark) can restore folders in-process.

Guarantees (SPEC.md, "Behaviour on bad input"):

* nothing is ever written over an input and never into the input folder, also through
  a symlink inside the output folder (every target is checked after resolving links,
  :func:`spairkit.fileio.check_output_paths`); the whole plan is checked before the
  first image is touched, so a refused run writes nothing;
* every readable image is processed; each failure is recorded with its reason and
  reported at the end; folder entries that look like images but cannot be read
  (unsupported format, dangling symlink, a folder named ``x.png``) are failures too,
  and other files are listed as skipped, never dropped silently;
* an image whose header declares more pixels than the memory budget allows is a failure
  before it is decoded (the rest of the folder is still restored);
* every output appears complete or not at all (atomic temp + rename).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from spairkit.datasets.image_io import (
    UNSUPPORTED_IMAGE_EXTENSIONS,
    looks_like_image,
    read_image_unchanged,
)
from spairkit.errors import DataError, UserError
from spairkit.fileio import check_output_paths
from spairkit.limits import memory_budget_bytes
from spairkit.visualization.image_files import mask_to_uint8, write_image_atomic

from .inference import restore_image
from .tiling import TileSpec, max_image_pixels

MASK_SUFFIX = '_mask.png'


@dataclass(frozen=True)
class RestoreJob:
    """One image to restore: where it is read from and where its results go."""

    source: Path
    output: Path
    mask_output: Path | None = None
    #: Why this folder entry cannot be restored (set by the planner), else ``None``.
    problem: str | None = None


@dataclass(frozen=True)
class RestoreFailure:
    """An image that could not be restored, and why (one line)."""

    source: Path
    reason: str


def mask_path_for(output: Path) -> Path:
    """``dir/name.ext`` -> ``dir/name_mask.png`` (8-bit, beside the output)."""
    return output.with_name(output.stem + MASK_SUFFIX)


@dataclass(frozen=True)
class RestorePlan:
    """What a restore will do: the jobs, and the folder entries it leaves alone."""

    jobs: list[RestoreJob]
    skipped: list[Path]


def _entry_problem(path: Path) -> str | None:
    """Why a folder entry with an image name cannot be restored, or ``None``."""
    if path.is_dir():
        return 'is a folder, not an image file'
    if path.is_symlink() and not path.exists():
        return f'dangling symlink (points to {os.readlink(path)})'
    if not path.is_file():
        return 'not a regular file'
    if path.suffix.lower() in UNSUPPORTED_IMAGE_EXTENSIONS:
        return f'{path.suffix.lower()} images are not supported (convert to PNG or JPEG)'
    return None


def _scan(folder: Path, recursive: bool) -> tuple[list[tuple[Path, str | None]], list[Path]]:
    """(image entries with their problem or None, other entries skipped)."""
    images, skipped = [], []
    pending = [folder]
    while pending:
        current = pending.pop()
        for entry in sorted(current.iterdir()):
            if looks_like_image(entry.name) or (entry.is_symlink() and not entry.exists()):
                images.append((entry, _entry_problem(entry)))
            elif entry.is_dir():
                if recursive:
                    pending.append(entry)
                else:
                    skipped.append(entry)
            else:
                skipped.append(entry)
    return sorted(images), sorted(skipped)


def plan_restore(input: str | os.PathLike, output: str | os.PathLike, recursive: bool = False,
                 save_mask: bool = False,
                 other_inputs: Sequence[tuple[str, str | os.PathLike]] = ()) -> RestorePlan:
    """What ``restore INPUT OUTPUT`` will read and write, checked for safety up front.

    INPUT a file: OUTPUT is a file path, or an existing folder (the input's name is
    kept). INPUT a folder: OUTPUT is a folder outside it; images are found at its top
    level (or in every subfolder with ``recursive``) and written to the same relative
    paths with the same extension. Raises :class:`UserError` (nothing written) when
    an output would land inside the input folder (after following symlinks), overwrite
    an input or one of ``other_inputs`` (the config, the checkpoint), or two results
    would go to the same file.
    """
    src, dst = Path(input), Path(output)
    if not src.exists():
        raise DataError(f'input not found: {src}')
    skipped: list[Path] = []
    if src.is_dir():
        if dst.exists() and not dst.is_dir():
            raise UserError(f'OUTPUT {dst} is a file, but INPUT {src} is a folder: '
                            'give an output folder')
        check_output_paths([('OUTPUT', dst)], [('INPUT', src)])
        entries, skipped = _scan(src, recursive)
        if not entries:
            hint = '' if recursive else ' (add --recursive to search subfolders)'
            raise DataError(f'no image files found in {src}{hint}')
        jobs = [RestoreJob(p, dst / p.relative_to(src),
                           mask_path_for(dst / p.relative_to(src)) if save_mask else None,
                           problem) for p, problem in entries]
    else:
        if dst.is_dir():
            target = dst / src.name
        elif not dst.suffix:
            raise UserError(f'OUTPUT {dst} has no file extension: give an image file name '
                            '(e.g. out.png) or an existing folder')
        else:
            target = dst
        jobs = [RestoreJob(src, target, mask_path_for(target) if save_mask else None)]
    _check_targets(jobs, [('INPUT', src), *other_inputs])
    return RestorePlan(jobs, skipped)


def plan_jobs(input: str | os.PathLike, output: str | os.PathLike, recursive: bool = False,
              save_mask: bool = False) -> list[RestoreJob]:
    """The jobs of :func:`plan_restore` (kept for callers that need only them)."""
    return plan_restore(input, output, recursive, save_mask).jobs


def _check_targets(jobs: Sequence[RestoreJob],
                   inputs: Sequence[tuple[str, str | os.PathLike]]) -> None:
    """No target may be or lie in an input, and no two results may share a file."""
    sources = {job.source.resolve(): job.source for job in jobs}
    seen: dict[Path, Path] = {}
    for job in jobs:
        for target in (job.output, job.mask_output):
            if target is None:
                continue
            key = target.resolve()
            if key in sources:
                raise UserError(f'refusing to overwrite input {sources[key]} '
                                f'(the result of {job.source} would be written there)')
            check_output_paths([(f'the result of {job.source} to', target)], inputs)
            if key in seen:
                raise UserError(f'results of {seen[key]} and {job.source} would both be '
                                f'written to {target}; rename one of them')
            seen[key] = job.source


def _reason(exc: Exception) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[0] if lines else ''
    if not isinstance(exc, UserError):
        text = f'{type(exc).__name__}: {text}'
    if isinstance(exc, torch.OutOfMemoryError):
        text += ' (try a smaller --memory-budget or --tile 256)'
    return text


def restore_files(model: nn.Module, jobs: Sequence[RestoreJob], tile: TileSpec = 'auto',
                  tile_overlap: int = 32, progress: bool = True,
                  on_image: Callable[[int], None] | None = None,
                  memory_budget: str | int | None = None) -> list[RestoreFailure]:
    """Restore every job; return the failures (an empty list when all succeeded).

    A failing image (unreadable, undecodable, too large, unwritable, out of memory, or a
    planner ``problem``) does not stop the run. ``tile`` is a tile size, ``None`` (whole
    image) or ``'auto'`` (from ``memory_budget``, see :func:`spairkit.apis.tiling.auto_tile`).
    ``progress`` shows a tqdm bar on stderr; ``on_image(n)`` is called after the n-th
    image (1-based), whether it succeeded or not.
    """
    budget = memory_budget_bytes(memory_budget)
    max_pixels = max_image_pixels(budget)
    failures: list[RestoreFailure] = []
    bar = tqdm(jobs, desc='restore', unit='img', file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    for index, job in enumerate(bar, start=1):
        try:
            if job.problem is not None:
                raise DataError(job.problem)
            image = read_image_unchanged(job.source, max_pixels=max_pixels)
            result = restore_image(model, image, tile=tile, tile_overlap=tile_overlap,
                                   memory_budget=budget)
            del image
            write_image_atomic(job.output, result.restored)
            if job.mask_output is not None:
                write_image_atomic(job.mask_output, mask_to_uint8(result.mask))
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the run
            failures.append(RestoreFailure(job.source, _reason(exc)))
        if on_image is not None:
            on_image(index)
    bar.close()
    return failures
