"""The Python API example runs as documented."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2

from tests.apis.conftest import TINY_CONFIG, smooth_rgb

EXAMPLE = Path(__file__).resolve().parents[2] / 'examples' / 'python_api' / 'restore_example.py'


def _load():
    spec = importlib.util.spec_from_file_location('restore_example', EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_with_a_checkpoint(tmp_path, tiny_checkpoint):
    image = tmp_path / 'in.png'
    cv2.imwrite(str(image), smooth_rgb(21, 30))
    paths = _load().main([str(TINY_CONFIG), str(tiny_checkpoint), '--image', str(image),
                          '--out', str(tmp_path / 'out'), '--tile', '16', '--tile-overlap', '4'])
    restored = cv2.imread(str(paths[0]), cv2.IMREAD_UNCHANGED)
    mask = cv2.imread(str(paths[1]), cv2.IMREAD_UNCHANGED)
    assert restored.shape == (21, 30, 3) and mask.shape == (21, 30)
    assert cv2.imread(str(paths[2])).shape[1] > 3 * 30


def test_example_untrained_packaged_model(tmp_path, capsys):
    paths = _load().main(['--untrained', '--out', str(tmp_path)])
    assert all(p.is_file() for p in paths)
    assert cv2.imread(str(paths[0])).shape == (128, 128, 3)
    assert 'predicted degraded' in capsys.readouterr().out
