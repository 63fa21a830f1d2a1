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


# -- issue 17 -----------------------------------------------------------------------------
SPAIR_CONFIG = REPO / 'configs' / 'demo' / 'demo_restorer.py'
SPAIR_TRAIN = ['train', str(SPAIR_CONFIG)]


def _spair_option(option: str) -> Callable[[Path], list[str]]:
    return lambda t: [*SPAIR_TRAIN, '--work-dir', str(t), '--cfg-options', option]


def _config_with(text: str, name: str = 'bad.py') -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        (tmp / name).write_text(f"_base_ = ['{SPAIR_CONFIG}']\n{text}")
        return ['train', str(tmp / name), '--work-dir', str(tmp / 'w')]
    return setup


def _non_utf8_config(tmp: Path) -> list[str]:
    (tmp / 'latin1.py').write_bytes(b"model = dict(type='SPAIR')  # caf\xe9\n")
    return ['train', str(tmp / 'latin1.py'), '--work-dir', str(tmp / 'w')]


def _outside_package(tmp: Path) -> list[str]:
    (tmp / 'elsewhere.py').write_text("open('code_ran', 'w')\nmodel = dict(type='SPAIR')\n")
    os.chdir(tmp)
    escape = os.path.relpath(tmp / 'elsewhere.py', REPO / 'configs')
    return ['train', f'spairkit::{escape}', '--work-dir', str(tmp / 'w')]


def _no_code_ran(tmp: Path) -> None:
    assert not (tmp / 'code_ran').exists(), 'a config outside the package was executed'


def _toy_weights(tmp: Path, width: int = 8) -> Path:
    sys.path.insert(0, str(TOY))
    from toy_components import ToyRestorer
    torch.manual_seed(0)
    path = tmp / f'toy_w{width}.pth'
    torch.save({'state_dict': ToyRestorer(width=width).state_dict(),
                'meta': {'epoch': 0, 'iter': 2}}, path)
    return path


def _test_mismatch(tmp: Path) -> list[str]:
    return ['test', str(TOY / 'toy_config.py'), str(_toy_weights(tmp)), '--work-dir', str(tmp),
            '--cfg-options', 'model.width=4']


def _resume_mismatch(tmp: Path) -> list[str]:
    return [*TOY_TRAIN, '--work-dir', str(tmp / 'w'), '--resume', str(_toy_weights(tmp)),
            '--cfg-options', 'model.width=4']


def _out_over_checkpoint(tmp: Path) -> list[str]:
    ckpt = _toy_weights(tmp)
    return ['test', str(TOY / 'toy_config.py'), str(ckpt), '--work-dir', str(tmp),
            '--out', str(ckpt)]


def _checkpoint_unchanged(tmp: Path) -> None:
    assert torch.load(tmp / 'toy_w8.pth', weights_only=True)['meta']['iter'] == 2


def _not_a_checkpoint(name: str, data: bytes) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        (tmp / name).write_bytes(data)
        return ['test', str(TOY / 'toy_config.py'), str(tmp / name), '--work-dir', str(tmp)]
    return setup


_SAFETENSORS = (lambda h: len(h).to_bytes(8, 'little') + h + b'\0' * 4)(
    b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')
_HELD_LOCKS: dict[str, contextlib.ExitStack] = {}


def _locked_work_dir(tmp: Path) -> list[str]:
    from spairkit.engine.work_dir_lock import work_dir_lock
    stack = contextlib.ExitStack()
    stack.enter_context(work_dir_lock(tmp / 'w'))  # "another training", released in after
    _HELD_LOCKS[str(tmp)] = stack
    return [*TOY_TRAIN, '--work-dir', str(tmp / 'w')]


def _release_lock(tmp: Path) -> None:
    _HELD_LOCKS.pop(str(tmp)).close()
    assert not list((tmp / 'w').glob('*.pth'))


def _synth_negative_seed(tmp: Path) -> list[str]:
    _image(tmp / 'clean' / 'a.png')
    return ['synth', 'rain_streak', '--src', str(tmp / 'clean'), '--out', str(tmp / 'pairs'),
            '--seed', '-1']


def _no_synth_output(tmp: Path) -> None:
    assert not (tmp / 'pairs').exists(), 'synth created output folders before refusing'


def _tiny_restorer_checkpoint(tmp: Path) -> Path:
    from tests.apis.conftest import build_random_restorer
    path = tmp / 'tiny.pth'
    torch.save({'state_dict': build_random_restorer().state_dict()}, path)
    return path


def _restore_bomb(tmp: Path) -> list[str]:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack('>IIBBBBB', 30000, 30000, 8, 2, 0, 0, 0)
    (tmp / 'bomb.png').write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr)
                                   + chunk(b'IDAT', zlib.compress(b'\0' * 90001))
                                   + chunk(b'IEND', b''))
    return ['restore', str(REPO / 'tests/apis/tiny_restorer.py'),
            str(_tiny_restorer_checkpoint(tmp)), str(tmp / 'bomb.png'), str(tmp / 'out.png'),
            '--no-progress']


def _restore_animated(tmp: Path) -> list[str]:
    from PIL import Image
    frames = [Image.new('RGB', (8, 8), (i * 60, 0, 0)) for i in range(3)]
    frames[0].save(tmp / 'anim.gif', save_all=True, append_images=frames[1:])
    return ['restore', str(REPO / 'tests/apis/tiny_restorer.py'),
            str(_tiny_restorer_checkpoint(tmp)), str(tmp / 'anim.gif'), str(tmp / 'out.gif'),
            '--no-progress']


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
    # -- issue 17: values, checkpoints, outputs, work dirs ----------------------------------
    Case('config', '--cfg-options model=[', _spair_option('model=['), 2, "model='['"),
    Case('config', '--cfg-options model=5', _spair_option('model=5'), 2, 'model=5: expected'),
    Case('config', '--cfg-options model.type=None', _spair_option('model.type=None'), 2,
         'model.type=None: expected'),
    Case('config', 'negative channel count', _spair_option('model.netr.base_channels=-1'), 2,
         'model.netr.base_channels=-1: NetR expects a positive integer'),
    Case('config', 'growth=abc', _spair_option('model.netr.growth=abc'), 2,
         "model.netr.growth: NetR expects int, got str 'abc'"),
    Case('config', 'negative max_iters', _spair_option('train_cfg.max_iters=-5'), 2,
         'train_cfg.max_iters=-5: expected an integer >= 1'),
    Case('config', 'batch size 0', _spair_option('train_dataloader.batch_size=0'), 2,
         'train_dataloader.batch_size=0: expected an integer >= 1'),
    Case('config', "base_channels='many' in a config file",
         _config_with("model = dict(netr=dict(base_channels='many'))\n"), 2,
         "model.netr.base_channels: NetR expects int, got str 'many'"),
    Case('config', '1/0 in a config file', _config_with('x = 1 / 0\n', 'div.py'), 2, 'div.py'),
    Case('config', 'config file that is not UTF-8', _non_utf8_config, 2, 'latin1.py'),
    Case('config', 'spairkit:: path escaping the package', _outside_package, 2, 'elsewhere.py',
         after=_no_code_ran),
    Case('cli', 'synth --seed -1', _synth_negative_seed, 2, '--seed must be a non-negative',
         after=_no_synth_output),
    Case('checkpoint', 'JSON file given as the checkpoint',
         _not_a_checkpoint('metrics.json', b'{"PSNR": 30.1}'), 2, 'it is a JSON file',
         env={'PYTHONPATH': str(TOY)}),
    Case('checkpoint', 'safetensors file given as the checkpoint',
         _not_a_checkpoint('w.safetensors', _SAFETENSORS), 2, 'it is a safetensors file',
         env={'PYTHONPATH': str(TOY)}),
    Case('checkpoint', 'checkpoint of another model (test)', _test_mismatch, 2,
         'does not fit the model', env={'PYTHONPATH': str(TOY)}),
    Case('checkpoint', 'train --resume with another model\'s checkpoint', _resume_mismatch, 2,
         'does not fit the model', env={'PYTHONPATH': str(TOY)}),
    Case('checkpoint', 'test --out onto the checkpoint', _out_over_checkpoint, 2,
         'refusing to write --out', env={'PYTHONPATH': str(TOY)}, after=_checkpoint_unchanged),
    Case('training', 'second training into a work dir in use', _locked_work_dir, 2,
         'is in use by another training: pid', env={'PYTHONPATH': str(TOY)},
         after=_release_lock),
    Case('restore', 'decompression bomb (30000x30000 PNG header)', _restore_bomb, 1,
         '900,000,000 pixels'),
    Case('restore', 'animated GIF', _restore_animated, 1, 'animated GIF with 3 frames'),
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
    # Indented lines are tracebacks/usage, except restore's "  PATH: reason" failure list.
    lines = [line for line in err.getvalue().splitlines()
             if line.strip() and not line.startswith(('(run again', 'usage:'))
             and (not line.startswith(' ') or _is_failure_line(line))
             and 'mmengine - ' not in line]
    error_lines = [line for line in lines if 'error' in line]
    return Outcome(code, (error_lines or lines or [''])[-1])


def _is_failure_line(line: str) -> bool:
    text = line.strip()
    return line.startswith('  ') and not text.startswith(('File "', '^', '~')) and ': ' in text


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
