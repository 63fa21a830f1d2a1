"""Load: restoring a folder of 200 images keeps memory flat (issue 7)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / 'benchmarks' / 'restore_memory.py'


def _benchmark():
    spec = importlib.util.spec_from_file_location('restore_memory', BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not os.path.exists('/proc/self/statm'), reason='reads RSS from /proc')
def test_rss_does_not_grow_per_image(restorer):
    bench = _benchmark()
    readings = bench.measure(restorer, num=200, size=24, checkpoints=(20, 200))
    growth = readings[200] - readings[20]
    # Measured +0.8 MB (docs/reliability.md). Keeping even 1 MB per image
    # (e.g. each output or an autograd graph) would add 180 MB; 20 MB allows allocator
    # noise only.
    assert growth < 20.0, readings
