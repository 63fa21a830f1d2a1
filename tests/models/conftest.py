"""Model tests run on the reference operators, single-threaded.

The compiled kernels are checked against the reference in tests/ops; here the models
are under test, so they use the backend that needs no compilation (a first build of
the C++ extension would take minutes on a small machine). The tensors are tiny, so one
intra-op thread is fastest, and it avoids thread oversubscription on a shared machine
(measured here: a tiny SPAIR step took ~5 s with 2 contended threads, 0.1 s with 1).
"""
import pytest
import torch


@pytest.fixture(autouse=True)
def _reference_ops_single_thread(monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'torch')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
