"""Model tests run on the reference operators.

The compiled kernels are checked against the reference in tests/ops; here the models
are under test, so they use the backend that needs no compilation (a first build of
the C++ extension would take minutes on a small machine).
"""
import pytest


@pytest.fixture(autouse=True)
def _reference_ops(monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'torch')
