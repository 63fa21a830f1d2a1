"""Files that appear complete or not at all, with the user's permissions, never over an input.

Every writer of results (checkpoints, restored images, metrics, reports) goes
through :func:`atomic_write`: the content goes to a hidden temporary file in the
destination folder, is flushed to disk, and is renamed over the final name
(``os.replace`` is atomic within one file system). A run killed mid-write leaves the
previous file, never a truncated one.

``tempfile.mkstemp`` creates its file ``0600`` whatever the umask, which would make
every result private; :func:`atomic_write` therefore sets the mode an ordinary
``open()`` would have given (``0666`` less the umask, i.e. ``0644`` under ``022``).

:func:`check_output_paths` is the one rule for where a command may write: no output
may be one of the command's inputs (a checkpoint, a config, an image) or lie inside an
input folder, after following symlinks (an output folder may contain a link into the
input tree).
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from spairkit.errors import UserError


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc``)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: the classic set-and-restore
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object],
                 mode: int | None = None) -> None:
    """Call ``write(f)`` on a temp file beside ``path``, then rename it to ``path``.

    The file gets ``mode`` (default: ``0666`` less the umask, as ``open()`` would).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.partial', dir=path.parent)
    try:
        os.fchmod(fd, (0o666 & ~current_umask()) if mode is None else mode)
        with os.fdopen(fd, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write` of UTF-8 text."""
    atomic_write(path, lambda f: f.write(text.encode('utf-8')))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_paths(outputs: Iterable[tuple[str, str | os.PathLike]],
                       inputs: Iterable[tuple[str, str | os.PathLike]]) -> None:
    """Refuse (:class:`UserError`, nothing written) an output that is or lies in an input.

    ``outputs`` and ``inputs`` are ``(what, path)`` pairs, e.g. ``('--out', 'm.json')``
    and ``('CHECKPOINT', 'w/iter_8.pth')``; ``what`` names them in the message. Paths
    are compared after resolving every symlink, so ``out/sub -> ../input/x`` counts as
    inside ``input``. Inputs that do not exist (or URLs) are ignored.
    """
    resolved_inputs = []
    for what, path in inputs:
        text = os.fspath(path)
        if '://' in text or not os.path.lexists(text):
            continue
        resolved_inputs.append((what, Path(text), Path(text).resolve()))
    for what, path in outputs:
        target = Path(path).resolve()
        for in_what, in_path, in_resolved in resolved_inputs:
            if _inside(target, in_resolved):
                kind = 'is' if target == in_resolved else 'lies inside'
                raise UserError(
                    f'refusing to write {what} {path}: it {kind} {in_what} {in_path} '
                    f'(resolved {target}); choose an output outside the inputs')
