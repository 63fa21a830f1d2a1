"""Wall-clock timing of a callable, and forcing an operator backend for a while.

CPU timings on a shared machine are noisy, so a measurement is the median of a few
repetitions after one warm-up run, and a time budget caps the repetitions of slow
configurations (their count is recorded, never hidden).
"""
from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from spairkit.ops import BACKEND_ENV_VAR


@dataclass
class Timing:
    """Seconds per call: median and minimum over ``reps`` timed calls."""

    median_s: float
    min_s: float
    reps: int

    def to_dict(self) -> dict:
        return asdict(self)


def time_call(fn: Callable[[], object], reps: int = 3, warmup: int = 1,
              budget_s: float | None = None) -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls, then up to ``reps`` timed ones.

    With ``budget_s``, no further repetition starts once the timed calls (and the
    warm-up) have used the budget; at least one timed call always runs.
    """
    if reps < 1:
        raise ValueError(f'reps must be >= 1, got {reps}')
    start = time.perf_counter()
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if budget_s is not None and time.perf_counter() - start >= budget_s:
            break
    return Timing(median_s=statistics.median(times), min_s=min(times), reps=len(times))


@contextlib.contextmanager
def forced_backend(name: str | None) -> Iterator[None]:
    """Force ``SPAIRKIT_OPS_BACKEND=name`` inside the block (None: automatic choice).

    The operators read the variable at every call; the previous value is restored on
    exit, so nothing leaks into the rest of the process.
    """
    previous = os.environ.get(BACKEND_ENV_VAR)
    try:
        if name is None:
            os.environ.pop(BACKEND_ENV_VAR, None)
        else:
            os.environ[BACKEND_ENV_VAR] = name
        yield
    finally:
        if previous is None:
            os.environ.pop(BACKEND_ENV_VAR, None)
        else:
            os.environ[BACKEND_ENV_VAR] = previous
