"""The CUDA extension builds, links and imports here, without a GPU.

``spairkit ops build --cuda`` compiles every source of ``cuda_ops/`` (CPU and CUDA
kernels, bindings with the CUDA dispatch on) and links them against this torch; the
headers and libraries the toolkit lacks come from torch's CUDA wheels
(:func:`spairkit.ops._build.cuda_build_env`), the target is ``TORCH_CUDA_ARCH_LIST``
(default 9.0 without a GPU). The build lives in the normal build cache, so a later
run (or ``spairkit ops build --cuda``) only rebuilds what changed. Measured on the
2-core machine, load ~1.5, MAX_JOBS=2, sources of commit 961c5c7 (before the compact
path): a fresh build 139 s wall, an up-to-date check 4 s; the compact-path sources
add two files. That is why this file replaces the old compile-only nvcc test
instead of adding to it.

The module is imported in a fresh process (beside the CPU build other tests load):
every function the binding sources declare is there, ``with_cuda()`` is true, CPU
tensors take the CPU kernels of the same build (the dispatch is by device), and a
bad call is a clear ``RuntimeError`` naming the operator.
"""
from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from spairkit.ops import _build

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(_build.nvcc_toolkit() is None,
                                 reason='needs a CUDA build of torch and nvcc')]

_CHILD = r'''
import json, sys, time
import torch
from spairkit.ops import _build

spec = _build.build_spec(True)
start = time.monotonic()
mod = _build.load_extension(spec)
seconds = time.monotonic() - start

mask = torch.zeros(2, 1, 5, 7, dtype=torch.bool)
mask[0, 0, 1, 2] = mask[0, 0, 4, 6] = mask[1, 0, 0, 0] = True
active, nbr = mod.sparse_plan(mask, 3, 1)
try:
    q = torch.randn(1, 2, 4, 4)
    mod.cca_forward(q, q, q, torch.ones(1, 1, 3, 3, dtype=torch.bool),
                    torch.ones(1, 4, 4, 4), 1.0)
    error = None
except RuntimeError as exc:
    error = str(exc).splitlines()[0]
print(json.dumps({
    'seconds': seconds, 'library': str(spec.library), 'file': mod.__file__,
    'with_cuda': mod.with_cuda(), 'names': sorted(n for n in dir(mod) if not n.startswith('_')),
    'active': active.tolist(), 'nbr_shape': list(nbr.shape), 'error': error,
}))
'''


def _declared_functions(source_dir: Path) -> set[str]:
    """Every ``m.def("name", ...)`` of the binding sources being built."""
    names = set()
    for src in (source_dir / 'bindings').glob('*.cpp'):
        names |= set(re.findall(r'm\.def\(\s*"(\w+)"', src.read_text()))
    return names


@functools.cache
def _build_and_import() -> tuple[dict | None, str]:
    """Build (or find up to date) and import in a fresh process, once per session:
    the info dict, or None and the child's error output."""
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    proc = subprocess.run([sys.executable, '-c', _CHILD], capture_output=True, text=True,
                          env=env, timeout=1800)
    if proc.returncode != 0:
        return None, proc.stderr[-6000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), ''


@pytest.fixture
def cuda_module():
    info, error = _build_and_import()
    assert info is not None, f'CUDA build or import failed:\n{error}'
    return info


def test_cuda_build_links_and_imports(cuda_module):
    print(f"CUDA build (or up-to-date check) and import: {cuda_module['seconds']:.1f} s")
    assert cuda_module['with_cuda'] is True
    assert Path(cuda_module['file']).resolve() == Path(cuda_module['library']).resolve()
    assert Path(cuda_module['library']).stat().st_size > 0


def test_every_declared_function_is_in_the_module(cuda_module):
    declared = _declared_functions(_build.build_spec(True).source_dir)
    assert {'cca_forward', 'cca_backward', 'sparse_conv_forward', 'sparse_plan'} <= declared
    missing = declared - set(cuda_module['names'])
    assert not missing, f'declared but not in the built module: {sorted(missing)}'


def test_cpu_tensors_take_the_cpu_kernels_of_the_cuda_build(cuda_module):
    # Flat indices (over N*H*W) of the three degraded pixels, in row-major order.
    assert cuda_module['active'] == [0 * 35 + 1 * 7 + 2, 0 * 35 + 4 * 7 + 6, 1 * 35 + 0]
    assert cuda_module['nbr_shape'] == [3, 9]


def test_a_bad_call_is_a_clear_error(cuda_module):
    assert cuda_module['error'] is not None
    assert 'mask' in cuda_module['error'] and 'Traceback' not in cuda_module['error']


def test_cuda_build_env_uses_the_wheels_when_the_toolkit_lacks_them(tmp_path, monkeypatch):
    """A toolkit folder with nvcc but no headers or libraries gets the wheels' include
    on CPATH and a link folder (in the build cache) with unversioned libcudart.so."""
    includes, libs = _build.wheel_cuda_dirs()
    if not any((d / 'cusparse.h').is_file() for d in includes) or \
            not any(any(d.glob('libcudart.so*')) for d in libs):
        pytest.skip('torch was not installed with the CUDA wheels')
    monkeypatch.setenv(_build.CACHE_ENV, str(tmp_path / 'cache'))
    monkeypatch.delenv('TORCH_CUDA_ARCH_LIST', raising=False)
    monkeypatch.setenv('CPATH', '/somewhere/else')
    bare = tmp_path / 'toolkit'
    (bare / 'bin').mkdir(parents=True)
    env = _build.cuda_build_env(str(bare))
    cpath = env['CPATH'].split(os.pathsep)
    assert cpath[-1] == '/somewhere/else'
    assert any((Path(p) / 'cusparse.h').is_file() for p in cpath)
    (link_dir,) = env['LIBRARY_PATH'].split(os.pathsep)[:1]
    link_dir = Path(link_dir)
    assert link_dir.parent == tmp_path / 'cache'
    cudart = link_dir / 'libcudart.so'
    assert cudart.is_symlink() and cudart.resolve().name.startswith('libcudart.so.')
    import torch
    if not torch.cuda.is_available():
        assert env['TORCH_CUDA_ARCH_LIST'] == _build.DEFAULT_CUDA_ARCH
    again = _build.cuda_build_env(str(bare))  # idempotent: same folder, same links
    assert again['LIBRARY_PATH'] == env['LIBRARY_PATH']
