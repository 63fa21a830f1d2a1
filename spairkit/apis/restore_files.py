"""Restoring files and folders: planning what to write, then restoring every readable image.

This is the engine of ``spairkit restore``; it lives here rather than in the command so
that programs (and the memory benchmark) can restore folders in-process.

Guarantees (SPEC.md, "Behaviour on bad input"):

* nothing is ever written over an input and never into the input folder; the whole
  plan is checked before the first image is touched, so a refused run writes nothing;
* every readable image is processed; each failure is recorded with its reason and
  reported at the end;
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

from spairkit.datasets.image_io import is_image_file
from spairkit.errors import DataError, UserError
from spairkit.visualization.image_files import mask_to_uint8, write_image_atomic

from .image_files import read_image_unchanged
from .inference import restore_image

MASK_SUFFIX = '_mask.png'


@dataclass(frozen=True)
class RestoreJob:
    """One image to restore: where it is read from and where its results go."""

    source: Path
    output: Path
    mask_output: Path | None = None


@dataclass(frozen=True)
class RestoreFailure:
    """An image that could not be restored, and why (one line)."""

    source: Path
    reason: str


def mask_path_for(output: Path) -> Path:
    """``dir/name.ext`` -> ``dir/name_mask.png`` (8-bit, beside the output)."""
    return output.with_name(output.stem + MASK_SUFFIX)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _scan(folder: Path, recursive: bool) -> list[Path]:
    walker = folder.rglob('*') if recursive else folder.iterdir()
    return sorted(p for p in walker if p.is_file() and is_image_file(p.name))


def plan_jobs(input: str | os.PathLike, output: str | os.PathLike, recursive: bool = False,
              save_mask: bool = False) -> list[RestoreJob]:
    """What ``restore INPUT OUTPUT`` will read and write, checked for safety up front.

    INPUT a file: OUTPUT is a file path, or an existing folder (the input's name is
    kept). INPUT a folder: OUTPUT is a folder outside it; images are found at its top
    level (or in every subfolder with ``recursive``) and written to the same relative
    paths with the same extension. Raises :class:`UserError` (nothing written) when
    the output would land inside the input folder, overwrite an input, or two results
    would go to the same file.
    """
    src, dst = Path(input), Path(output)
    if not src.exists():
        raise DataError(f'input not found: {src}')
    if src.is_dir():
        if dst.exists() and not dst.is_dir():
            raise UserError(f'OUTPUT {dst} is a file, but INPUT {src} is a folder: '
                            'give an output folder')
        if _inside(dst.resolve(), src.resolve()):
            raise UserError(f'refusing to write into the input folder: OUTPUT {dst} is '
                            f'(inside) INPUT {src}; choose an output folder outside it')
        sources = _scan(src, recursive)
        if not sources:
            hint = '' if recursive else ' (add --recursive to search subfolders)'
            raise DataError(f'no image files found in {src}{hint}')
        outputs = [dst / p.relative_to(src) for p in sources]
    else:
        sources = [src]
        if dst.is_dir():
            outputs = [dst / src.name]
        elif not dst.suffix:
            raise UserError(f'OUTPUT {dst} has no file extension: give an image file name '
                            '(e.g. out.png) or an existing folder')
        else:
            outputs = [dst]
    jobs = [RestoreJob(s, o, mask_path_for(o) if save_mask else None)
            for s, o in zip(sources, outputs)]
    _check_targets(jobs)
    return jobs


def _check_targets(jobs: Sequence[RestoreJob]) -> None:
    """No target may be an input, and no two results may share a file."""
    inputs = {job.source.resolve(): job.source for job in jobs}
    seen: dict[Path, Path] = {}
    for job in jobs:
        for target in (job.output, job.mask_output):
            if target is None:
                continue
            key = target.resolve()
            if key in inputs or (target.exists() and any(
                    os.path.samefile(target, s) for s in inputs.values())):
                raise UserError(f'refusing to overwrite input {inputs.get(key, target)} '
                                f'(the result of {job.source} would be written there)')
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
        text += ' (try --tile 512)'
    return text


def restore_files(model: nn.Module, jobs: Sequence[RestoreJob], tile: int | None = None,
                  tile_overlap: int = 32, progress: bool = True,
                  on_image: Callable[[int], None] | None = None) -> list[RestoreFailure]:
    """Restore every job; return the failures (an empty list when all succeeded).

    A failing image (unreadable, undecodable, unwritable, out of memory) does not stop
    the run. ``progress`` shows a tqdm bar on stderr; ``on_image(n)`` is called after
    the n-th image (1-based), whether it succeeded or not.
    """
    failures: list[RestoreFailure] = []
    bar = tqdm(jobs, desc='restore', unit='img', file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    for index, job in enumerate(bar, start=1):
        try:
            image = read_image_unchanged(job.source)
            result = restore_image(model, image, tile=tile, tile_overlap=tile_overlap)
            write_image_atomic(job.output, result.restored)
            if job.mask_output is not None:
                write_image_atomic(job.mask_output, mask_to_uint8(result.mask))
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the run
            failures.append(RestoreFailure(job.source, _reason(exc)))
        if on_image is not None:
            on_image(index)
    bar.close()
    return failures
