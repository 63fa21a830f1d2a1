"""The loader around the compiled ops: stale locks, failed builds, the CLI."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import warnings

import pytest

from spairkit.ops import _build, compiled


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def test_lock_left_by_a_dead_process_is_removed_with_a_warning(tmp_path):
    build_dir = tmp_path / 'b'
    lock = _build.BuildLock(build_dir, timeout_s=3600, poll_s=0.01)
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    lock.path.write_text(json.dumps({'pid': _dead_pid(), 'host': os.uname().nodename}))
    with pytest.warns(RuntimeWarning, match='owner .* is gone'):
        lock.acquire()
    assert json.loads(lock.path.read_text())['pid'] == os.getpid()
    lock.release()
    assert not lock.path.exists()


def test_lock_older_than_the_timeout_is_removed(tmp_path):
    lock = _build.BuildLock(tmp_path / 'b', timeout_s=5, poll_s=0.01)
    lock.path.write_text('{"pid": 1, "host": "another-machine"}')
    old = time.time() - 60
    os.utime(lock.path, (old, old))
    with pytest.warns(RuntimeWarning, match='s old'):
        with lock:
            assert lock.path.exists()
    assert not lock.path.exists()


def test_live_lock_is_waited_for(tmp_path):
    lock = _build.BuildLock(tmp_path / 'b', timeout_s=3600, poll_s=0.01)
    lock.path.write_text(json.dumps({'pid': os.getpid(), 'host': os.uname().nodename}))
    waiter = _build.BuildLock(tmp_path / 'b', timeout_s=0.3, poll_s=0.01)
    start = time.monotonic()
    with pytest.warns(RuntimeWarning, match='s old'):  # only the timeout frees it
        waiter.acquire()
    assert time.monotonic() - start >= 0.25
    waiter.release()


def test_failed_build_warns_once_and_reports_unavailable(monkeypatch, tmp_path):
    def broken(spec, verbose=False):
        raise RuntimeError('Error building extension: c++: fatal error: no input files')

    monkeypatch.setenv(_build.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(_build, 'load_extension', broken)
    with pytest.warns(RuntimeWarning, match='building the compiled operators failed'):
        result = compiled._load.__wrapped__(False)
    assert result.module is None and 'no input files' in result.error


def test_no_build_env_skips_compiling(monkeypatch, tmp_path):
    monkeypatch.setenv(_build.CACHE_ENV, str(tmp_path))  # nothing is built there
    monkeypatch.setenv(compiled.NO_BUILD_ENV, '1')
    monkeypatch.setattr(_build, 'load_extension', pytest.fail)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        result = compiled._load.__wrapped__(False)
    assert result.module is None and compiled.NO_BUILD_ENV in result.error


def test_build_spec_is_private_per_torch_and_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv(_build.CACHE_ENV, str(tmp_path))
    cpu = _build.build_spec(False)
    assert cpu.build_dir.parent == tmp_path and 'cpu' in cpu.build_dir.name
    assert all(s.suffix == '.cpp' for s in cpu.sources)
    assert {s.parent.name for s in cpu.sources} == {'cpu', 'bindings'}
    cuda = _build.build_spec(True)
    assert cuda.build_dir != cpu.build_dir
    assert {s.suffix for s in cuda.sources} == {'.cpp', '.cu'}


def test_cli_info_compiles_nothing(cli, tmp_path):
    result = cli('ops', 'info', env={_build.CACHE_ENV: str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert 'not built yet' in result.stdout and str(tmp_path) in result.stdout
    assert 'torch' in result.stdout and 'C++ compiler' in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which('c++') is None, reason='no C++ compiler')
def test_cli_build_prints_where_the_library_is(cli):
    compiled.load('cpp')  # reuse this session's build, so the command only links/loads
    result = cli('ops', 'build', '--no-cuda')
    assert result.returncode == 0, result.stderr
    assert 'spairkit_ops_cpu.so' in result.stdout and 'build directory' in result.stdout


def test_cli_build_cuda_without_nvcc_is_a_user_error(cli, tmp_path):
    # No GPU is needed for --cuda (tests/ops/test_cuda_build.py builds it), nvcc is.
    result = cli('ops', 'build', '--cuda', env={'CUDA_HOME': str(tmp_path)})
    assert result.returncode == 2
    assert 'needs a CUDA build of torch and a CUDA toolkit' in result.stderr


def test_kernels_are_built_with_openmp_when_aten_uses_it():
    """``at::parallel_for`` is a header template: without ``-fopenmp`` in the
    extension's own flags every kernel runs on one thread whatever
    ``torch.set_num_threads`` says (measured 1.0x from 1 to 2 threads)."""
    import torch

    spec = _build.build_spec(with_cuda=False)
    if torch._C.has_openmp and sys.platform != 'darwin':
        assert '-fopenmp' in spec.cflags and '-fopenmp' in spec.ldflags
    else:
        assert '-fopenmp' not in spec.cflags


@pytest.mark.skipif(not compiled.is_available('cpp'), reason='compiled C++ ops not available')
def test_one_openmp_runtime_in_the_process():
    """The extension's libgomp.so.1 is the copy torch loaded, not a second runtime."""
    code = ('import torch, spairkit.ops as ops\n'
            'ops.sparse_conv2d(torch.randn(1, 2, 6, 6), torch.ones(1, 1, 6, 6), '
            'torch.randn(2, 2, 3, 3))\n'
            "print(len({l.split()[-1] for l in open('/proc/self/maps') if 'libgomp' in l}))\n")
    if not os.path.exists('/proc/self/maps'):
        pytest.skip('needs /proc')
    env = dict(os.environ, SPAIRKIT_OPS_BACKEND='cpp')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    import torch

    expected = '1' if torch._C.has_openmp else '0'
    assert out.stdout.strip().splitlines()[-1] == expected
