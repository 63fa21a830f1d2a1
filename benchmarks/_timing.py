"""Timing helpers shared by the benchmark scripts.

The machines these run on are often shared and noisy, so every measurement takes
the minimum over repetitions (the least disturbed run) after a warm-up, and the
number of repetitions adapts to a time budget so slow configurations stay bounded.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import torch


def synchronize(device: torch.device | str) -> None:
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()


def time_call(fn: Callable[[], object], device: torch.device | str = 'cpu', *,
              min_reps: int = 3, max_reps: int = 50, budget_s: float = 1.0,
              warmup: int = 1) -> float:
    """Seconds of the fastest of several calls of ``fn`` (after ``warmup`` calls).

    Runs at least ``min_reps`` times and stops after ``max_reps`` or once the total
    time exceeds ``budget_s``.
    """
    for _ in range(warmup):
        fn()
    synchronize(device)
    best = float('inf')
    spent = 0.0
    for rep in range(max_reps):
        start = time.perf_counter()
        fn()
        synchronize(device)
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        spent += elapsed
        if rep + 1 >= min_reps and spent >= budget_s:
            break
    return best


def gemm_rate(device: torch.device | str = 'cpu', size: int = 1024,
              dtype: torch.dtype = torch.float32) -> float:
    """Measured GEMM throughput of this machine in FLOP/s (square ``size`` matmul)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    seconds = time_call(lambda: torch.mm(a, b), device, min_reps=5, budget_s=1.0)
    return 2.0 * size ** 3 / seconds
