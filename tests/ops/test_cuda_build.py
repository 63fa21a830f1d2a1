"""The CUDA extension builds, links and imports here, without a GPU.

``spairkit ops build --cuda`` compiles every source of ``cuda_ops/`` (CPU and CUDA
kernels, bindings with the CUDA dispatch on) and links them against this torch; the
headers and libraries the toolkit lacks come from torch's CUDA wheels
(:func:`spairkit.ops._build.cuda_build_env`), the target is ``TORCH_CUDA_ARCH_LIST``
(default 9.0 without a GPU). The build lives in the normal build cache, so a later
run (or ``spairkit ops build --cuda``) only rebuilds what changed. Measured on the
2-core machine, idle, MAX_JOBS=2: a fresh build 125 s wall with one pybind11 file
(``bindings/module.cpp``; 178 s when every binding file included
``torch/extension.h``), an up-to-date check 4 s.

The build and the import run in a fresh process (``cuda_build_child.py``, beside the
CPU build other tests load), started in the background when collection ends and at
the lowest priority (``conftest.py``); the ``cuda_module`` fixture waits for it. In
that process every function the binding sources declare is there, ``with_cuda()``
is true, CPU tensors take the CPU kernels of the same build (the dispatch is by
device), and a bad call is a clear ``RuntimeError`` naming the operator.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from spairkit.ops import _build

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(_build.nvcc_toolkit() is None,
                                 reason='needs a CUDA build of torch and nvcc')]


def _declared_functions(source_dir: Path) -> set[str]:
    """Every ``m.def("name", ...)`` of the binding sources being built."""
    names = set()
    for src in (source_dir / 'bindings').glob('*.cpp'):
        names |= set(re.findall(r'm\.def\(\s*"(\w+)"', src.read_text()))
    return names


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
