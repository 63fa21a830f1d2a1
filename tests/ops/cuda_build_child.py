"""Build (or find up to date) the CUDA extension and import it; prints one JSON line.

Run by ``tests/ops/test_cuda_build.py`` in a fresh process (beside the CPU build the
other tests load), normally started in the background right after collection by
``tests/ops/conftest.py`` so that nvcc's three minutes overlap the rest of the suite.
``argv[1]``, when given, is the niceness to run at (the background build yields the
cores to the tests).
"""
import json
import os
import sys
import time

if len(sys.argv) > 1:
    os.nice(int(sys.argv[1]))

import torch  # noqa: E402

from spairkit.ops import _build  # noqa: E402

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
