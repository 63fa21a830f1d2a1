"""Each bad-input case ends with its exit code and a one-line message naming the culprit."""
from __future__ import annotations

import pytest

from tests.reliability.bad_input_cases import CASES, run_case


@pytest.fixture(autouse=True)
def _one_thread():
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_bad_input_case(case, tmp_path):
    outcome = run_case(case, tmp_path)
    assert outcome.exit_code == case.exit_code, outcome.message
    assert case.expect in outcome.message, outcome.message
    assert 'Traceback' not in outcome.message
    if case.after is not None:
        case.after(tmp_path)
