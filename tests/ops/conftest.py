"""Naive per-pixel implementations of the SPEC.md operators, used as test oracles;
and the background start of the CUDA build that ``test_cuda_build.py`` checks.

The oracles are written straight from the spec's sentences with Python loops,
independent of the vectorised reference, so an agreement between the two means
something.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import IO

import pytest
import torch

from spairkit.ops import _build

CUDA_BUILD_CHILD = Path(__file__).with_name('cuda_build_child.py')


@dataclass
class CudaBuild:
    """A running ``cuda_build_child.py``; its output goes to files (a pipe could fill)."""

    proc: subprocess.Popen
    stdout: IO[str]
    stderr: IO[str]

    def result(self, timeout: float = 1800) -> tuple[str | None, str]:
        """Wait for the child: (its last stdout line, '') or (None, its stderr tail)."""
        code = self.proc.wait(timeout=timeout)
        self.stdout.seek(0)
        self.stderr.seek(0)
        out, err = self.stdout.read(), self.stderr.read()
        if code != 0:
            return None, err[-6000:]
        return out.strip().splitlines()[-1], ''


def start_cuda_build(niceness: int = 0) -> CudaBuild:
    """Start ``cuda_build_child.py`` at ``niceness`` (one torch thread); returns at once."""
    out = tempfile.TemporaryFile('w+')
    err = tempfile.TemporaryFile('w+')
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    proc = subprocess.Popen([sys.executable, str(CUDA_BUILD_CHILD), str(niceness)],
                            stdout=out, stderr=err, text=True, env=env)
    return CudaBuild(proc, out, err)


CUDA_BUILD = pytest.StashKey[CudaBuild]()


def _needs_cuda_build(item: pytest.Item) -> bool:
    return 'cuda_module' in getattr(item, 'fixturenames', ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the CUDA build now, niced, and run the tests that need it last.

    A fresh CUDA build takes about three minutes of nvcc on two cores; run in the
    background at the lowest priority it uses the cores the rest of the suite leaves
    idle (most tests are single-threaded or wait on subprocesses), instead of adding
    its wall time to the suite's.
    """
    cuda = [item for item in items if _needs_cuda_build(item)]
    if not cuda or _build.nvcc_toolkit() is None:
        return
    items[:] = [item for item in items if not _needs_cuda_build(item)] + cuda
    config.stash[CUDA_BUILD] = start_cuda_build(niceness=19)


@pytest.fixture(scope='session')
def cuda_module(request) -> dict:
    """The info dict ``cuda_build_child.py`` prints, its build and import done in a
    fresh process once; waits for the background start (above), or starts it now at
    normal priority when the hook did not (e.g. ``nvcc`` appeared after collection)."""
    build = request.config.stash.get(CUDA_BUILD, None) or start_cuda_build()
    line, error = build.result()
    assert line is not None, f'CUDA build or import failed:\n{error}'
    return json.loads(line)


def pytest_unconfigure(config: pytest.Config) -> None:
    build = config.stash.get(CUDA_BUILD, None)
    if build is not None and build.proc.poll() is None:
        build.proc.kill()
        build.proc.wait()


def naive_sparse_conv2d(x, mask, weight, bias=None, dilation=1):
    n, c, h, w = x.shape
    c_out, _, k, _ = weight.shape
    r = k // 2
    out = torch.zeros(n, c_out, h, w, dtype=torch.float64)
    for b in range(n):
        for i in range(h):
            for j in range(w):
                if mask[b, 0, i, j] <= 0.5:
                    continue
                acc = torch.zeros(c_out, dtype=torch.float64)
                for di in range(-r, r + 1):
                    for dj in range(-r, r + 1):
                        ii, jj = i + di * dilation, j + dj * dilation
                        if 0 <= ii < h and 0 <= jj < w and mask[b, 0, ii, jj] > 0.5:
                            acc += weight[:, :, di + r, dj + r].double() @ x[b, :, ii, jj].double()
                if bias is not None:
                    acc += bias.double()
                out[b, :, i, j] = acc
    return out


def naive_criss_cross(query, key, value, mask, weights, scale=1.0):
    n, _, h, w = query.shape
    c = value.shape[1]
    out = torch.zeros(n, c, h, w, dtype=torch.float64)
    for b in range(n):
        for i in range(h):
            for j in range(w):
                if mask[b, 0, i, j] <= 0.5:
                    continue
                rays = (
                    [(i, jj) for jj in range(j - 1, -1, -1)],  # left
                    [(i, jj) for jj in range(j + 1, w)],  # right
                    [(ii, j) for ii in range(i - 1, -1, -1)],  # up
                    [(ii, j) for ii in range(i + 1, h)],  # down
                )
                for d, ray in enumerate(rays):
                    keys = [p for p in ray if mask[b, 0, p[0], p[1]] <= 0.5]
                    if not keys:
                        continue
                    logits = [scale * float(query[b, :, i, j].double()
                                            @ key[b, :, p[0], p[1]].double()) for p in keys]
                    top = max(logits)
                    exps = [math.exp(v - top) for v in logits]
                    total = sum(exps)
                    g = sum((e / total) * value[b, :, p[0], p[1]].double()
                            for e, p in zip(exps, keys))
                    out[b, :, i, j] += float(weights[b, d, i, j]) * g
    return out


def naive_feature_modulation(feat, mask, eps=1e-5):
    n, c, _, _ = feat.shape
    out = feat.double().clone()
    for b in range(n):
        deg = mask[b, 0] > 0.5
        if deg.all() or not deg.any():
            continue
        for ch in range(c):
            f = feat[b, ch].double()
            fd, fc = f[deg], f[~deg]
            mu_d, mu_c = fd.mean(), fc.mean()
            var_d = ((fd - mu_d) ** 2).mean()
            var_c = ((fc - mu_c) ** 2).mean()
            mod = math.sqrt(var_c + eps) * (f - mu_d) / math.sqrt(var_d + eps) + mu_c
            out[b, ch][deg] = mod[deg]
    return out


@pytest.fixture
def torch_backend(monkeypatch):
    """Force the pure-PyTorch backend for tests of the public functions."""
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'torch')


@pytest.fixture
def naive():
    """The naive oracles, as ``naive.sparse_conv2d`` etc."""
    return SimpleNamespace(sparse_conv2d=naive_sparse_conv2d, criss_cross=naive_criss_cross,
                           feature_modulation=naive_feature_modulation)
