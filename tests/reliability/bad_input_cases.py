"""Every bad-input case spairkit promises a clear answer to, as data.

Each :class:`Case` sets up a mistake in a temporary folder, runs one ``spairkit``
command in-process and states the exit code and a phrase the one-line message
must contain. ``test_bad_input.py`` asserts them; running this file regenerates
the table in ``docs/reliability.md`` from the observed messages::

    python -m tests.reliability.bad_input_cases docs/reliability.md
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TOY = REPO / 'tests' / 'core' / 'toy'
FOLDER_CONFIG = HERE / 'folder_localizer.py'


@dataclasses.dataclass
class Case:
    area: str
    name: str
    setup: Callable[[Path], list[str]]  # returns the spairkit arguments
    exit_code: int
    expect: str
    env: dict = dataclasses.field(default_factory=dict)
    after: Callable[[Path], None] | None = None  # extra checks on the folder


def _image(path: Path, h: int = 20, w: int = 20, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def _pairs(root: Path, names=('a', 'b')) -> Path:
    for n in names:
        _image(root / 'input' / f'{n}.png')
        _image(root / 'target' / f'{n}.png', seed=1)
    return root


def _train_folder(root: Path) -> list[str]:
    return ['train', str(FOLDER_CONFIG), '--work-dir', str(root / 'work')]


def _data_case(prepare: Callable[[Path], None]) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        prepare(tmp / 'data')
        os.environ['SPAIRKIT_TEST_DATA'] = str(tmp / 'data')
        return _train_folder(tmp)
    return setup


class _Evil:
    def __reduce__(self):
        return (os.system, ('touch pwned_marker',))


def _evil_checkpoint(tmp: Path) -> list[str]:
    torch.save({'state_dict': {}, 'payload': _Evil()}, tmp / 'evil.pth')
    os.chdir(tmp)
    return ['test', str(TOY / 'toy_config.py'), str(tmp / 'evil.pth'), '--work-dir', str(tmp)]


def _truncated_checkpoint(tmp: Path) -> list[str]:
    buffer = io.BytesIO()
    torch.save({'state_dict': {'w': torch.ones(1000)}}, buffer)
    (tmp / 'cut.pth').write_bytes(buffer.getvalue()[:3000])
    return ['test', str(TOY / 'toy_config.py'), str(tmp / 'cut.pth'), '--work-dir', str(tmp)]


def _no_evil_side_effect(tmp: Path) -> None:
    assert not (tmp / 'pwned_marker').exists(), 'the malicious checkpoint ran code'


def _write(name: str, text: str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        (tmp / name).write_text(text)
        return ['train', str(tmp / name)]
    return setup


def _restore_into_input(tmp: Path) -> list[str]:
    _image(tmp / 'photos' / 'a.png')
    return ['restore', str(REPO / 'tests/apis/tiny_restorer.py'), str(tmp / 'missing.pth'),
            str(tmp / 'photos'), str(tmp / 'photos' / 'out')]


TOY_TRAIN = ['train', str(TOY / 'toy_config.py')]
CASES = [
    # -- configs and the command line ---------------------------------------------
    Case('config', 'config file does not exist', lambda t: ['train', str(t / 'nope.py')],
         2, 'config file not found'),
    Case('config', 'config with a syntax error', _write('broken.py', 'model = dict(\n'),
         2, 'cannot load config'),
    Case('config', 'config without a model', _write('empty.py', 'x = 1\n'),
         2, "defines no 'model'"),
    Case('config', 'unknown component type', lambda t: [
        *TOY_TRAIN, '--work-dir', str(t), '--cfg-options', 'model.type=ToyRestorr'],
        2, "did you mean 'ToyRestorer'", env={'PYTHONPATH': str(TOY)}),
    Case('config', 'unknown argument of a component', lambda t: [
        *TOY_TRAIN, '--work-dir', str(t), '--cfg-options', 'model.widht=3'],
        2, "ToyRestorer has no argument 'widht'", env={'PYTHONPATH': str(TOY)}),
    Case('config', 'wrong value type for an argument', lambda t: [
        *TOY_TRAIN, '--work-dir', str(t), '--cfg-options', 'model.width=wide'],
        2, 'model.width: ToyRestorer expects int', env={'PYTHONPATH': str(TOY)}),
    Case('config', 'nested component: unknown argument', lambda t: [
        'train', str(REPO / 'plugins/rain_streak/configs/spair/spair.py'), '--work-dir', str(t),
        '--cfg-options', 'model.netr.sfm.epss=1'],
        2, "model.netr.sfm: SFM has no argument 'epss'"),
    Case('config', 'malformed --cfg-options pair', lambda t: [
        *TOY_TRAIN, '--cfg-options', 'train_cfg.max_iters'], 2, 'bad --cfg-options pair'),
    Case('cli', 'unknown registry in spairkit list', lambda t: ['list', 'modles'],
         2, "unknown registry 'modles'"),
    # -- datasets -------------------------------------------------------------------
    Case('data', 'dataset folder does not exist',
         _data_case(lambda root: None), 2, 'not found'),
    Case('data', 'unpaired files', _data_case(lambda root: (
        _pairs(root), _image(root / 'input' / 'c.png'))), 2, 'c.png'),
    Case('data', 'input and target sizes differ', _data_case(lambda root: (
        _pairs(root), _image(root / 'target' / 'b.png', h=24))), 2, 'b.png'),
    Case('data', 'corrupt image', _data_case(lambda root: (
        _pairs(root), (root / 'input' / 'b.png').write_bytes(b'not a png'))), 2, 'b.png'),
    Case('data', 'empty image file', _data_case(lambda root: (
        _pairs(root), (root / 'target' / 'a.png').write_bytes(b''))), 2, 'a.png'),
    Case('data', 'image smaller than the crop', _data_case(lambda root: (
        _pairs(root, names=('a',)), _image(root / 'input' / 's.png', 8, 8),
        _image(root / 'target' / 's.png', 8, 8))), 2, 's.png'),
    # -- checkpoints ------------------------------------------------------------------
    Case('checkpoint', 'checkpoint does not exist', lambda t: [
        'test', str(TOY / 'toy_config.py'), str(t / 'missing.pth'), '--work-dir', str(t)],
        2, 'checkpoint not found', env={'PYTHONPATH': str(TOY)}),
    Case('checkpoint', 'truncated checkpoint', _truncated_checkpoint, 2, 'cut.pth',
         env={'PYTHONPATH': str(TOY)}),
    Case('checkpoint', 'checkpoint that would run code when unpickled', _evil_checkpoint,
         2, '--unsafe-load', env={'PYTHONPATH': str(TOY)}, after=_no_evil_side_effect),
    Case('checkpoint', '--resume with no checkpoint in the work dir', lambda t: [
        *TOY_TRAIN, '--work-dir', str(t), '--resume'], 2, 'no checkpoint to resume from',
        env={'PYTHONPATH': str(TOY)}),
    # -- restore ----------------------------------------------------------------------
    Case('restore', 'output folder inside the input folder', _restore_into_input, 2,
         'photos'),
    # -- training ---------------------------------------------------------------------
    Case('training', 'loss becomes NaN', lambda t: [
        *TOY_TRAIN, '--work-dir', str(t), '--cfg-options', 'model.nan_after=2'],
        3, 'loss became nan at iteration 3', env={'PYTHONPATH': str(TOY)}),
    Case('training', '--launcher pytorch without torchrun', lambda t: [
        *TOY_TRAIN, '--work-dir', str(t), '--launcher', 'pytorch'], 2, 'needs torchrun',
        env={'PYTHONPATH': str(TOY)}),
]


@dataclasses.dataclass
class Outcome:
    exit_code: int
    message: str


def run_case(case: Case, tmp: Path) -> Outcome:
    """Run ``case`` in-process; returns the exit code and the last stderr line."""
    from spairkit.cli.main import main

    saved_env, saved_cwd, saved_path = dict(os.environ), os.getcwd(), list(sys.path)
    os.environ.update(case.env)
    sys.path[:0] = [p for p in case.env.get('PYTHONPATH', '').split(os.pathsep) if p]
    err = io.StringIO()
    try:
        args = case.setup(tmp)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse usage errors
                code = exc.code
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
    lines = [line for line in err.getvalue().splitlines()
             if line.strip() and not line.startswith(('(run again', 'usage:', ' '))
             and 'mmengine - ' not in line]
    error_lines = [line for line in lines if 'error' in line]
    return Outcome(code, (error_lines or lines or [''])[-1])


START, END = '<!-- bad-input-table:start -->', '<!-- bad-input-table:end -->'


def render_table(outcomes: list[tuple[Case, Outcome]]) -> str:
    rows = ['| area | case | exit code | observed message |', '| --- | --- | --- | --- |']
    for case, outcome in outcomes:
        message = outcome.message.replace('|', '\\|')
        rows.append(f'| {case.area} | {case.name} | {outcome.exit_code} | `{message}` |')
    return '\n'.join([START, *rows, END])


def write_doc(doc: Path) -> None:
    import tempfile
    outcomes = []
    # One root for all cases, removed at the end: MMEngine keeps per-process
    # visualizer instances that may still point at an earlier case's folder.
    with tempfile.TemporaryDirectory() as root:
        for i, case in enumerate(CASES):
            (Path(root) / str(i)).mkdir()
            outcomes.append((case, run_case(case, Path(root) / str(i))))
    text = doc.read_text() if doc.exists() else '# Reliability\n'
    table = render_table(outcomes)
    if START in text:
        head, rest = text.split(START, 1)
        text = head + table + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + '\n\n## Bad input: every case tested\n\n' + table + '\n'
    doc.write_text(text)


if __name__ == '__main__':
    write_doc(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / 'docs' / 'reliability.md')
