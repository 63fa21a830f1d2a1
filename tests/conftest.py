"""Shared fixtures: running the ``spairkit`` command in a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOY_DIR = REPO / 'tests' / 'core' / 'toy'


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None,
            timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``spairkit ARGS`` as a user would (fresh process, captured output)."""
    full_env = dict(os.environ)
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, '-m', 'spairkit.cli.main', *map(str, args)],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def toy_env():
    """Environment that makes the toy components importable by ``custom_imports``."""
    return {'PYTHONPATH': os.pathsep.join([str(TOY_DIR), os.environ.get('PYTHONPATH', '')])}
