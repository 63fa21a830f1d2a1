"""Every CUDA source of cuda_ops/ compiles (compile-only; no GPU is needed).

nvcc compiles each ``.cu`` launcher to an object file against this torch's headers
with the flags torch's cpp_extension uses, and the binding files are compiled with
the CUDA dispatch switched on, so CUDA code that does not compile fails CI even on
machines without a GPU. Skipped where nvcc is not installed. One compiler call per
file, all started together; marked ``slow`` (deselect with ``-m 'not slow'``).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
import torch
from torch.utils import cpp_extension

REPO = Path(__file__).resolve().parents[2]
CUDA_OPS = REPO / 'cuda_ops'


def _nvcc() -> str | None:
    home = cpp_extension.CUDA_HOME
    if home and (Path(home) / 'bin' / 'nvcc').exists():
        return str(Path(home) / 'bin' / 'nvcc')
    return shutil.which('nvcc')


def _include_flags() -> list[str]:
    dirs = [*cpp_extension.include_paths(), str(CUDA_OPS / 'include'),
            str(CUDA_OPS / 'kernels'), sysconfig.get_paths()['include']]
    # pip-installed torch ships the CUDA library headers (cuBLAS, cuSPARSE, ...) in the
    # nvidia wheels rather than in the toolkit; their folder is added when present.
    torch_root = Path(torch.__file__).parent.parent
    dirs += [str(p) for p in sorted(torch_root.glob('nvidia/*/include')) if p.is_dir()]
    if cpp_extension.CUDA_HOME:
        dirs.append(str(Path(cpp_extension.CUDA_HOME) / 'include'))
    return [f'-I{d}' for d in dirs]


NVCC = _nvcc()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(NVCC is None, reason='nvcc is not installed')]

CU_FILES = sorted(CUDA_OPS.glob('cuda/*.cu'))
# module.cpp only declares and registers; the family files hold the device dispatch.
BINDINGS = sorted(p for p in CUDA_OPS.glob('bindings/*.cpp') if p.name != 'module.cpp')


def test_there_are_cuda_sources():
    assert {p.name for p in CU_FILES} >= {'sparse_conv_cuda.cu', 'criss_cross_cuda.cu'}


def _nvcc_command(source: Path, out_dir: Path) -> list[str]:
    return [NVCC, '-c', '-std=c++20', '-O1', *cpp_extension.COMMON_NVCC_FLAGS,
            '-DSPAIRKIT_WITH_CUDA', '-DTORCH_EXTENSION_NAME=spairkit_ops_compile_test',
            '-Xcompiler', '-fPIC', *_include_flags(), str(source),
            '-o', str(out_dir / (source.stem + '.o'))]


def _cxx_command(source: Path) -> list[str]:
    return [os.environ.get('CXX', 'c++'), '-fsyntax-only', '-std=c++20',
            '-DSPAIRKIT_WITH_CUDA', '-DTORCH_EXTENSION_NAME=spairkit_ops_compile_test',
            *_include_flags(), str(source)]


@pytest.fixture(scope='module')
def compiled(tmp_path_factory):
    """Every compiler call started at once (they are independent and each spends most
    of its time parsing torch's headers), then waited for: source name -> result."""
    out_dir = tmp_path_factory.mktemp('cuda_objects')
    jobs = {src.name: _nvcc_command(src, out_dir) for src in CU_FILES}
    if shutil.which(os.environ.get('CXX', 'c++')):
        jobs.update({src.name: _cxx_command(src) for src in BINDINGS})
    env = {**os.environ, 'LC_ALL': 'C'}
    procs = {name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, env=env) for name, cmd in jobs.items()}
    results = {}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=900)
        results[name] = (proc.returncode, err)
    return out_dir, results


@pytest.mark.parametrize('source', CU_FILES, ids=lambda p: p.name)
def test_cu_file_compiles_with_nvcc(source, compiled):
    out_dir, results = compiled
    code, err = results[source.name]
    assert code == 0, f'{source.name} does not compile:\n{err[-6000:]}'
    assert (out_dir / (source.stem + '.o')).stat().st_size > 0


@pytest.mark.parametrize('source', BINDINGS, ids=lambda p: p.name)
def test_bindings_compile_with_cuda_dispatch(source, compiled):
    _, results = compiled
    if source.name not in results:
        pytest.skip('no C++ compiler')
    code, err = results[source.name]
    assert code == 0, f'{source.name} does not compile:\n{err[-6000:]}'
