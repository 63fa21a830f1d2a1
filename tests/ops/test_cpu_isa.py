"""Every vector width of the CPU kernels gives the reference's results.

The compiled CPU kernels are templates on the vector width, and one variant per
instruction set (AVX-512, AVX2, baseline) is picked at run time (cuda_ops/cpu/
cpu_kernels.h). A machine runs only its widest one by default, so the narrower
ones are run here through ``SPAIRKIT_CPU_ISA``, in a child pytest per ISA over the
compiled-op test files (forward, backward, gradcheck, odd sizes, mixed / empty /
full masks), which already compare against the reference.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from spairkit.ops import compiled

ISAS = ('base', 'avx2', 'avx512')
OP_TESTS = ('test_compiled_sparse_conv.py', 'test_compiled_cca.py', 'test_sites.py')


def _active_isa() -> str:
    try:
        return compiled.load('cpp').cpu_isa()
    except Exception as exc:  # noqa: BLE001 - no compiler here: nothing to check
        pytest.skip(f'compiled CPU ops unavailable: {exc}')


def _narrower(isa: str) -> list[str]:
    return list(ISAS[:ISAS.index(isa)])


def test_active_isa_is_known():
    assert _active_isa() in ISAS


@pytest.mark.parametrize('isa', ISAS[:-1])
def test_narrower_isa_matches_reference(isa):
    active = _active_isa()
    if isa not in _narrower(active):
        pytest.skip(f'this CPU runs {active}; {isa} is not narrower')
    env = dict(os.environ, SPAIRKIT_CPU_ISA=isa, SPAIRKIT_OPS_BACKEND='cpp')
    here = Path(__file__).parent
    # One child: check that the variant is the one asked for, then run the op tests.
    code = ('import sys, pytest; from spairkit.ops import compiled; '
            f'assert compiled.load("cpp").cpu_isa() == "{isa}"; '
            'sys.exit(pytest.main(sys.argv[1:]))')
    result = subprocess.run(
        [sys.executable, '-c', code, '-q', '-x', '-p', 'no:cacheprovider',
         # The compact SFM is ATen (bmm) only: no kernel of ours picks an ISA there.
         '-k', 'not feature_modulation', *[str(here / name) for name in OP_TESTS]],
        env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_unknown_or_unsupported_isa_is_an_error():
    active = _active_isa()
    env = dict(os.environ, SPAIRKIT_CPU_ISA='sse9')
    code = 'from spairkit.ops import compiled; compiled.load("cpp").cpu_isa()'
    result = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True,
                            text=True)
    assert result.returncode != 0 and 'SPAIRKIT_CPU_ISA=sse9' in result.stderr
    if active != 'avx512':
        env['SPAIRKIT_CPU_ISA'] = 'avx512'
        result = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True,
                                text=True)
        assert result.returncode != 0 and 'supports at most' in result.stderr
