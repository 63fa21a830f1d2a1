"""``spairkit synth`` end to end on tiny images made in the test."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from spairkit.cli.main import main

from .conftest import structured_image


@pytest.fixture
def sources(tmp_path) -> Path:
    src = tmp_path / 'clean'
    (src / 'nested').mkdir(parents=True)
    cv2.imwrite(str(src / 'a.png'), structured_image(40, 48, seed=1)[..., ::-1])
    cv2.imwrite(str(src / 'nested' / 'b.jpg'), structured_image(36, 44, seed=2)[..., ::-1])
    cv2.imwrite(str(src / 'gray.png'), structured_image(32, 32, seed=3)[..., 0])
    (src / 'notes.txt').write_text('not an image')
    return src


def _read(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_synth_writes_input_target_mask(sources, tmp_path, capsys):
    out = tmp_path / 'out'
    assert main(['synth', 'rain_streak', '--src', str(sources), '--out', str(out),
                 '--seed', '3']) == 0
    names = sorted(p.name for p in (out / 'input').iterdir())
    assert names == ['000000_a.png', '000001_gray.png', '000002_b.png']
    for sub in ('target', 'mask'):
        assert sorted(p.name for p in (out / sub).iterdir()) == names
    for name in names:
        degraded, clean, mask = (_read(out / s / name) for s in ('input', 'target', 'mask'))
        assert degraded.shape == clean.shape and degraded.shape[:2] == mask.shape
        assert set(np.unique(mask)) <= {0, 255}
        assert not np.array_equal(degraded, clean)
    # The target is the source image itself (greyscale sources become RGB).
    assert np.array_equal(_read(out / 'target' / names[0]), _read(sources / 'a.png'))
    assert "wrote 3 'rain_streak' pairs" in capsys.readouterr().out


def test_synth_is_reproducible_and_cycles_sources(sources, tmp_path):
    first, second = tmp_path / 'first', tmp_path / 'second'
    for out in (first, second):
        assert main(['synth', 'shadow', '--src', str(sources), '--out', str(out),
                     '--num', '5', '--seed', '7']) == 0
    names = sorted(p.name for p in (first / 'input').iterdir())
    assert len(names) == 5 and names[3] == '000003_a.png'
    for name in names:
        assert np.array_equal(_read(first / 'input' / name), _read(second / 'input' / name))
        assert np.array_equal(_read(first / 'mask' / name), _read(second / 'mask' / name))


def test_unreadable_sources_are_reported_and_the_rest_written(sources, tmp_path, capsys):
    (sources / 'broken.png').write_bytes(b'\x89PNG not really')
    out = tmp_path / 'out'
    assert main(['synth', 'motion_blur', '--src', str(sources), '--out', str(out)]) == 1
    err = capsys.readouterr().err
    assert 'broken.png' in err and '1 of 4 source images failed' in err
    assert len(list((out / 'input').iterdir())) == 3


@pytest.mark.parametrize('make_args, message', [
    (lambda src, out: ['rain_strek', '--src', src, '--out', out], "did you mean 'rain_streak'"),
    (lambda src, out: ['raindrop', '--src', src, '--out', src], 'overlaps --src'),
    (lambda src, out: ['raindrop', '--src', src, '--out', src + '/sub'], 'overlaps --src'),
    (lambda src, out: ['raindrop', '--src', out, '--out', src], 'not a folder'),
    (lambda src, out: ['raindrop', '--src', src, '--out', out, '--num', '0'], '--num'),
])
def test_user_mistakes_exit_2_with_one_line(sources, tmp_path, capsys, make_args, message):
    before = sorted(p.name for p in sources.rglob('*'))
    assert main(['synth', *make_args(str(sources), str(tmp_path / 'missing'))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert sorted(p.name for p in sources.rglob('*')) == before  # nothing written into src


def test_empty_source_folder_is_an_error(tmp_path, capsys):
    (tmp_path / 'empty').mkdir()
    assert main(['synth', 'raindrop', '--src', str(tmp_path / 'empty'),
                 '--out', str(tmp_path / 'out')]) == 2
    assert 'no png/jpg images' in capsys.readouterr().err
