"""Issue 17, items 1, 4 (.pth bomb) and 12: one weights-only loader for every checkpoint source.

A checkpoint named by URL is downloaded to the torch hub cache and loaded exactly like
a local file; MMEngine's own loading (``_load_checkpoint``, ``init_cfg=Pretrained``) is
routed through the same loader. The server is a ``http.server`` on 127.0.0.1 started and
stopped by the fixture.
"""
from __future__ import annotations

import functools
import http.server
import json
import struct
import threading
import zipfile
from pathlib import Path

import pytest
import torch

from spairkit.checkpoint import load_checkpoint_file, route_mmengine_loading
from spairkit.cli.main import main
from spairkit.errors import CheckpointError


class _CreatesFile:
    """Unpickling this creates ``path``: the proof that code from the file ran."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """Serve ``tmp_path/www`` on a loopback port; the hub cache goes to ``tmp_path/hub``."""
    root = tmp_path / 'www'
    root.mkdir()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'hub'))
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.05},
                              daemon=True)
    thread.start()
    try:
        yield root, f'http://127.0.0.1:{httpd.server_address[1]}'
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _evil(root: Path, marker: Path) -> None:
    torch.save({'state_dict': {'netl.w': torch.ones(1)}, 'payload': _CreatesFile(marker)},
               root / 'evil.pth')


def test_url_checkpoint_is_refused_like_a_local_one(server, tmp_path):
    root, base = server
    marker = tmp_path / 'code_ran'
    _evil(root, marker)
    with pytest.raises(CheckpointError, match='--unsafe-load') as info:
        load_checkpoint_file(f'{base}/evil.pth')
    assert 'open' in str(info.value)
    assert not marker.exists()
    assert (tmp_path / 'hub' / 'hub' / 'checkpoints' / 'evil.pth').is_file()  # cached, refused


def test_url_checkpoint_loads_weights_only(server):
    root, base = server
    torch.save({'state_dict': {'w': torch.arange(3.0)}}, root / 'good.pth')
    assert torch.equal(load_checkpoint_file(f'{base}/good.pth')['state_dict']['w'],
                       torch.arange(3.0))


def test_mmengine_loading_goes_through_the_same_loader(server, tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    root, base = server
    marker = tmp_path / 'code_ran'
    _evil(root, marker)
    route_mmengine_loading()
    for source in (f'{base}/evil.pth', str(root / 'evil.pth')):
        with pytest.raises(CheckpointError, match='--unsafe-load'):
            _load_checkpoint(source, map_location='cpu')
    with pytest.raises(CheckpointError, match='not supported'):
        _load_checkpoint('s3://bucket/x.pth')
    assert not marker.exists()


def test_netl_checkpoint_url_in_training_is_refused(server, tmp_path, capsys):
    """The reproduction of the issue: ``train ... model.netl_checkpoint=http://...``."""
    root, base = server
    marker = tmp_path / 'code_ran'
    _evil(root, marker)
    code = main(['train', 'spairkit::demo/demo_restorer.py', '--work-dir', str(tmp_path / 'w'),
                 '--cfg-options', f'model.netl_checkpoint={base}/evil.pth'])
    err = capsys.readouterr().err
    assert code == 2, err
    assert 'refused to load checkpoint' in err and '--unsafe-load' in err
    assert not marker.exists()


def test_unreachable_url_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'hub'))
    with pytest.raises(CheckpointError, match='cannot download checkpoint'):
        load_checkpoint_file('http://127.0.0.1:9/none.pth')  # discard port: refused


def _safetensors(path: Path) -> None:
    header = json.dumps({'w': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}).encode()
    path.write_bytes(struct.pack('<Q', len(header)) + header + b'\0' * 4)


@pytest.mark.parametrize('name,make,what', [
    ('w.safetensors', _safetensors, 'a safetensors file'),
    ('m.json', lambda p: p.write_text('{"PSNR": 30.1}'), 'a JSON file'),
    ('c.py', lambda p: p.write_text("_base_ = ['x.py']\nmodel = dict(type='SPAIR')\n"),
     'a Python source file'),
    ('e.pth', lambda p: p.write_bytes(b''), 'an empty file'),
    ('z.pth', lambda p: zipfile.ZipFile(p, 'w').writestr('notes.txt', 'hi'),
     'a zip archive without data.pkl'),
    ('i.pth', lambda p: p.write_bytes(b'\x89PNG\r\n\x1a\n' + b'\0' * 32), 'a PNG image'),
])
def test_not_a_checkpoint_says_what_it_is(tmp_path, name, make, what):
    path = tmp_path / name
    make(path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint_file(path)
    message = str(info.value)
    assert what in message and str(path) in message
    assert '--unsafe-load' not in message


def test_deflated_record_bomb_is_refused_before_decompressing(tmp_path):
    """A .pth of ~200 KB whose record inflates to 192 MiB: refused from the zip directory."""
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(4)}}, good)
    bomb = tmp_path / 'bomb.pth'
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, 'w') as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        record = zipfile.ZipInfo('good/data/1')
        record.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(record, 'w', force_zip64=True) as f:
            zeros = b'\0' * (1 << 24)
            for _ in range(12):
                f.write(zeros)
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(CheckpointError, match='decompression bomb'):
        load_checkpoint_file(bomb)


def test_records_beyond_the_memory_budget_are_refused(tmp_path):
    path = tmp_path / 'big.pth'
    torch.save({'state_dict': {'w': torch.zeros(1 << 18)}}, path)  # 1 MiB stored
    with pytest.raises(CheckpointError, match='more than the memory budget'):
        load_checkpoint_file(path, max_bytes=1 << 19)
    assert load_checkpoint_file(path, max_bytes=1 << 22)['state_dict']['w'].numel() == 1 << 18
