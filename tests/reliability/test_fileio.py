"""Issue 17, items 2, 10, 14: results honour the umask; no output is or lies in an input."""
from __future__ import annotations

import os

import pytest

from spairkit.checkpoint import atomic_save
from spairkit.errors import UserError
from spairkit.fileio import atomic_write_text, check_output_paths


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_metrics_reports_and_checkpoints_are_0644_under_022(tmp_path, umask_022):
    atomic_write_text(tmp_path / 'metrics.json', '{}')
    atomic_write_text(tmp_path / 'report.md', '# report')
    atomic_save({'state_dict': {}}, tmp_path / 'model.pth')
    for name in ('metrics.json', 'report.md', 'model.pth'):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


def test_a_private_umask_is_honoured_too(tmp_path):
    previous = os.umask(0o077)
    try:
        atomic_write_text(tmp_path / 'secret.json', '{}')
    finally:
        os.umask(previous)
    assert (tmp_path / 'secret.json').stat().st_mode & 0o777 == 0o600


def test_an_output_may_not_be_an_input_even_through_symlinks(tmp_path):
    ckpt = tmp_path / 'iter_8.pth'
    ckpt.write_bytes(b'x')
    (tmp_path / 'alias.json').symlink_to(ckpt)
    (tmp_path / 'data').mkdir()
    (tmp_path / 'out').mkdir()
    (tmp_path / 'out' / 'link').symlink_to(tmp_path / 'data')
    inputs = [('CHECKPOINT', ckpt), ('data_root', tmp_path / 'data')]
    for output in (ckpt, tmp_path / 'alias.json', tmp_path / 'data' / 'x.png',
                   tmp_path / 'out' / 'link' / 'x.png'):
        with pytest.raises(UserError, match='refusing to write --out'):
            check_output_paths([('--out', output)], inputs)
    check_output_paths([('--out', tmp_path / 'out' / 'metrics.json')], inputs)  # fine
    check_output_paths([('--out', tmp_path / 'm.json')], [('CHECKPOINT', 'http://h/x.pth')])
