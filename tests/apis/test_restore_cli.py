"""``spairkit restore`` on files and folders: kinds of images, failures, refusals, safe loading."""
from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from spairkit.apis import plan_jobs, read_image_unchanged, restore_files
from spairkit.cli.main import main
from spairkit.errors import DataError, UserError
from tests.apis.conftest import TINY_CONFIG, smooth_rgb


def _digests(folder: Path) -> dict:
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob('*')) if p.is_file()}


def _mixed_folder(root: Path) -> dict:
    """One image of every kind the issue lists, plus a corrupt PNG. name -> (shape, dtype)."""
    root.mkdir()
    rgb = smooth_rgb(24, 32)
    kinds = {
        'rgb.png': rgb[:, :, ::-1],
        'gray.png': rgb[:, :, 0],
        'rgba.png': np.concatenate([rgb[:, :, ::-1], np.full((24, 32, 1), 77, np.uint8)], 2),
        'deep16.png': smooth_rgb(20, 22, dtype=np.uint16)[:, :, ::-1],
        'tiny7x5.png': smooth_rgb(5, 7),
        'odd.png': smooth_rgb(19, 31),
        'sub/photo.jpg': smooth_rgb(16, 16),
    }
    expected = {}
    for name, img in kinds.items():
        path = root / name
        path.parent.mkdir(exist_ok=True)
        assert cv2.imwrite(str(path), img)
        expected[name] = (img.shape, img.dtype)
    (root / 'corrupt.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'not really a png' * 8)
    return expected


def test_folder_with_every_kind_of_image(cli, tmp_path, tiny_checkpoint):
    src, out = tmp_path / 'in', tmp_path / 'out'
    expected = _mixed_folder(src)
    before = _digests(src)
    result = cli('restore', TINY_CONFIG, tiny_checkpoint, src, out, '--recursive',
                 '--save-mask')
    assert result.returncode == 1, result.stderr
    assert 'restored 7 of 8 image(s)' in result.stdout
    failure_lines = [ln for ln in result.stderr.splitlines() if 'corrupt.png' in ln]
    assert failure_lines and 'cannot decode' in failure_lines[0]
    assert '1 image(s) failed' in result.stderr
    assert _digests(src) == before  # inputs byte-identical
    for name, (shape, dtype) in expected.items():
        restored = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert restored is not None, name
        assert restored.shape == shape and restored.dtype == dtype, name
        mask = cv2.imread(str((out / name).with_name(Path(name).stem + '_mask.png')),
                          cv2.IMREAD_UNCHANGED)
        assert mask.shape == shape[:2] and mask.dtype == np.uint8
    rgba = cv2.imread(str(out / 'rgba.png'), cv2.IMREAD_UNCHANGED)
    assert (rgba[:, :, 3] == 77).all()  # alpha kept
    assert not (out / 'corrupt.png').exists()
    assert not list(out.rglob('*.partial'))


def _main(capsys, *args) -> tuple[int, str]:
    """The command in-process (faster than a subprocess on a shared machine)."""
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_output_inside_input_is_refused_and_nothing_written(capsys, tmp_path, tiny_checkpoint):
    src = tmp_path / 'in'
    src.mkdir()
    cv2.imwrite(str(src / 'a.png'), smooth_rgb(8, 8))
    before = _digests(src)
    code, err = _main(capsys, 'restore', TINY_CONFIG, tiny_checkpoint, src, src / 'restored')
    assert code == 2
    assert 'lies inside INPUT' in err
    assert _digests(src) == before and not (src / 'restored').exists()


def test_checkpoint_that_runs_code_is_refused(capsys, tmp_path, tiny_checkpoint):
    marker = tmp_path / 'pwned'

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    state = torch.load(tiny_checkpoint, weights_only=True)
    state['meta'] = {'hook': Payload()}
    evil = tmp_path / 'evil.pth'
    torch.save(state, evil)
    img = tmp_path / 'a.png'
    cv2.imwrite(str(img), smooth_rgb(8, 8))
    code, err = _main(capsys, 'restore', TINY_CONFIG, evil, img, tmp_path / 'b.png')
    assert code == 2
    assert 'refused to load checkpoint' in err and '--unsafe-load' in err
    assert 'pathlib' in err  # names what it would have run
    assert not marker.exists() and not (tmp_path / 'b.png').exists()


def test_single_file_to_file_and_to_folder(restorer, tmp_path):
    img = tmp_path / 'x.png'
    cv2.imwrite(str(img), smooth_rgb(9, 13))
    jobs = plan_jobs(img, tmp_path / 'res' / 'y.png', save_mask=True)
    assert restore_files(restorer, jobs, progress=False) == []
    assert read_image_unchanged(tmp_path / 'res' / 'y.png').shape == (9, 13, 3)
    assert (tmp_path / 'res' / 'y_mask.png').is_file()
    (tmp_path / 'dir').mkdir()
    jobs = plan_jobs(img, tmp_path / 'dir')
    assert jobs[0].output == tmp_path / 'dir' / 'x.png' and jobs[0].mask_output is None


def test_refusals_are_decided_before_writing(tmp_path):
    src = tmp_path / 'in'
    src.mkdir()
    for name in ('a.png', 'a_mask.png'):
        cv2.imwrite(str(src / name), smooth_rgb(8, 8))
    with pytest.raises(UserError, match='refusing to overwrite input'):
        plan_jobs(src / 'a.png', src / 'a.png')
    with pytest.raises(UserError, match='refusing to write OUTPUT .*: it is INPUT'):
        plan_jobs(src, src)
    with pytest.raises(UserError, match='would both be written'):
        plan_jobs(src, tmp_path / 'out', save_mask=True)  # a's mask vs a_mask.png
    with pytest.raises(UserError, match='no file extension'):
        plan_jobs(src / 'a.png', tmp_path / 'noext')
    with pytest.raises(DataError, match='not found'):
        plan_jobs(tmp_path / 'missing', tmp_path / 'out')
    (tmp_path / 'empty' / 'deeper').mkdir(parents=True)
    cv2.imwrite(str(tmp_path / 'empty' / 'deeper' / 'c.png'), smooth_rgb(4, 4))
    with pytest.raises(DataError, match='--recursive'):
        plan_jobs(tmp_path / 'empty', tmp_path / 'out')
    assert len(plan_jobs(tmp_path / 'empty', tmp_path / 'out', recursive=True)) == 1
    assert not (tmp_path / 'out').exists()


def test_unwritable_output_is_a_failure_not_a_crash(restorer, tmp_path):
    src = tmp_path / 'in'
    src.mkdir()
    cv2.imwrite(str(src / 'deep.png'), smooth_rgb(6, 6, dtype=np.uint16))
    cv2.imwrite(str(src / 'ok.png'), smooth_rgb(6, 6))
    jobs = plan_jobs(src / 'deep.png', tmp_path / 'deep.jpg') + \
        plan_jobs(src / 'ok.png', tmp_path / 'ok.png')
    failures = restore_files(restorer, jobs, progress=False)
    assert [f.source.name for f in failures] == ['deep.png']
    assert '16-bit' in failures[0].reason
    assert (tmp_path / 'ok.png').is_file() and not (tmp_path / 'deep.jpg').exists()


def test_unsafe_load_is_an_explicit_opt_in(tmp_path, tiny_checkpoint):
    """The same kind of file loads with unsafe_load=True, and then its code does run:
    exactly the risk the refusal message describes."""
    from spairkit.apis import init_restorer

    marker = tmp_path / 'ran'

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    state = torch.load(tiny_checkpoint, weights_only=True)
    state['meta'] = {'hook': Payload()}
    path = tmp_path / 'trusted.pth'
    torch.save(state, path)
    init_restorer(TINY_CONFIG, path, unsafe_load=True)
    assert marker.exists()
