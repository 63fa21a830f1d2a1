"""A training owns its work dir: a lock file naming the owner (pid, host).

Why: two trainings writing into one work dir share log files and interleave
checkpoints from different runs; neither result can be trusted afterwards.

Mechanism: ``WORK_DIR/.spairkit.lock`` is held with ``fcntl.flock`` for the whole run
and holds ``pid``/``host``/``started`` as JSON for the message. The kernel releases
a flock when its owner dies, however it dies, so a lock file left by a killed run
(dead pid on this host) is simply taken over: stale locks need no clean-up logic and
a reused pid can never look alive. A distributed run takes the lock once, on rank 0
(``RANK`` unset or ``0``); the other ranks write into the directory rank 0 owns.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from spairkit.errors import UserError

LOCK_NAME = '.spairkit.lock'


class WorkDirBusyError(UserError):
    """Another training holds the work dir."""


def _owner_text(path: Path) -> str:
    try:
        owner = json.loads(path.read_text() or '{}')
    except (OSError, ValueError):
        return 'another process'
    return (f"pid {owner.get('pid', '?')} on {owner.get('host', '?')} "
            f"(started {owner.get('started', '?')})")


@contextlib.contextmanager
def work_dir_lock(work_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold the lock of ``work_dir`` (created if needed) for the ``with`` block.

    Raises :class:`WorkDirBusyError` at once, naming the owner, when a live process
    holds it. Only rank 0 of a distributed launch locks; other ranks get a no-op.
    """
    work_dir = Path(work_dir)
    path = work_dir / LOCK_NAME
    if os.environ.get('RANK', '0') != '0':
        yield path
        return
    work_dir.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WorkDirBusyError(
                f'work dir {work_dir} is in use by another training: {_owner_text(path)}; '
                f'use another --work-dir (or wait for it to finish)') from None
        # The previous owner may have unlinked the file between our open and flock.
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        owner = {'pid': os.getpid(), 'host': socket.gethostname(),
                 'started': time.strftime('%Y-%m-%d %H:%M:%S')}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(owner).encode(), 0)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)
