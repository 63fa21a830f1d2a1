"""``spairkit export``: ONNX, TorchScript and ExportedProgram files equal PyTorch.

A tiny SPAIR restorer (SFM, SC and SNL all active) is built from a config on the
packaged demo config, given random weights and saved as a checkpoint. Net_L's head
is scaled so that about a fifth of the pixels are marked degraded and no logit sits
near the threshold (a flip there would be a legitimate 0/1 difference, not an export
error). Each exported file is run in its own runtime (ONNX Runtime directly for
ONNX) at 64x96, 128x128 and an odd size, and compared with the PyTorch model as it
runs without export (compact mask-guided path, normal operator backends).
"""
from __future__ import annotations

import contextlib
import io
import os
import stat

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from spairkit.apis import init_restorer
from spairkit.cli.main import main
from spairkit.config import load_config
from spairkit.export import (
    FORMATS,
    RestorerGraph,
    check_sizes,
    export_mode,
    load_runner,
    min_side,
)
from spairkit.ops.dense import dense_ops_enabled
from spairkit.registry import MODELS

#: As small as keeps every kind of block: tracing and reloading an export costs about
#: 40 ms per graph node here (symbolic-shape bookkeeping), so every block counts.
TINY = '''_base_ = ['spairkit::demo/demo_restorer.py']
model = dict(
    netl=dict(_delete_=True, type='NAFNetL', width=4, num_levels=2, enc_blocks=[0, 1],
              dec_blocks=0),
    netr=dict(base_channels=8, num_levels=2, growth=4, num_dense_layers=1,
              decoder_blocks=[dict(type='SparseConvBlock', growth=4, num_layers=1),
                              dict(type='SparseNonLocal', num_steps=1)]),
)
'''
#: The CLI already compared 64x96 and 128x128; these are other images and an odd size.
SIZES = [(64, 96), (37, 53)]
TOLERANCE = 1e-4
SUFFIX = {'onnx': '.onnx', 'torchscript': '.pt', 'exported-program': '.pt2'}


def _calibrate_netl(model: torch.nn.Module) -> None:
    """Scale Net_L's output conv (the demo's NAFNetL: ``ending``) so ~20% of the test
    images' pixels are degraded, with every logit far from the threshold."""
    from spairkit.export.verify import _test_image

    out_conv = model.netl.ending
    with torch.no_grad():
        image = _test_image(64, 96, torch.device('cpu'), seed=0)
        logits, _ = model.netl(image)
        out_conv.bias.sub_(torch.quantile(logits.flatten(), 0.8))
        out_conv.weight.mul_(40.0)
        out_conv.bias.mul_(40.0)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp('export')
    config = folder / 'tiny_restorer.py'
    config.write_text(TINY)
    cfg = load_config(str(config))
    model_cfg = cfg.model.to_dict()
    model_cfg['netl_checkpoint'] = None
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('spairkit'):
        model = MODELS.build(model_cfg)
    _calibrate_netl(model)
    checkpoint = folder / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return config, checkpoint, folder


@pytest.fixture(scope='module')
def graph(trained):
    config, checkpoint, _ = trained
    return RestorerGraph(init_restorer(str(config), str(checkpoint)))


@pytest.fixture(scope='module')
def exported(trained):
    """Each format exported once through the CLI (umask 027), with its stdout."""
    config, checkpoint, folder = trained
    files = {}
    old = os.umask(0o027)
    try:
        for fmt in FORMATS:
            out = folder / f'model{SUFFIX[fmt]}'
            with contextlib.redirect_stdout(io.StringIO()) as stdout:
                code = main(['export', str(config), str(checkpoint), str(out),
                             '--format', fmt])
            files[fmt] = (code, out, stdout.getvalue())
    finally:
        os.umask(old)
    return files


@pytest.mark.parametrize('fmt', FORMATS)
def test_cli_exports_and_verifies(exported, fmt):
    code, out, stdout = exported[fmt]
    assert code == 0, stdout
    assert out.is_file() and out.stat().st_size > 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640  # 0666 less the umask 027
    assert not list(out.parent.glob('.*unverified*'))
    assert '64x96' in stdout and '128x128' in stdout and 'FAIL' not in stdout
    assert f'exported {fmt} to {out}' in stdout


@pytest.mark.parametrize('fmt', FORMATS)
def test_exported_file_matches_pytorch(exported, graph, fmt):
    _, out, _ = exported[fmt]
    results = check_sizes(graph, load_runner(fmt, out), SIZES, seed=11)
    for r in results:
        assert 0.02 < r.degraded_fraction < 0.98, r  # a real mask, not empty or full
        assert r.max_abs_diff <= TOLERANCE, r
    assert not dense_ops_enabled()


def test_onnx_in_onnxruntime_directly(exported, graph):
    ort = pytest.importorskip('onnxruntime')
    _, out, _ = exported['onnx']
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    (inp,), (outp,) = session.get_inputs(), session.get_outputs()
    assert inp.name == 'image' and outp.name == 'restored'
    assert inp.shape[:2] == [1, 3] and all(isinstance(d, str) for d in inp.shape[2:])
    for h, w in [(64, 96), (128, 128)]:
        image = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(h))
        (got,) = session.run(None, {'image': image.numpy()})
        with torch.no_grad():
            want = graph(image).numpy()
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= TOLERANCE


def test_graph_in_export_mode_equals_the_model(graph):
    """The dense-equivalent formulation (what is traced) equals the normal forward."""
    image = torch.rand(2, 3, 29, 41, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        want = graph(image)
    with export_mode():
        got = graph(image)
    assert torch.allclose(got, want, atol=1e-5)
    assert got.min() >= 0 and got.max() <= 1


def test_min_side_is_stride_plus_one(graph):
    assert min_side(graph) == graph.model.netr.stride + 1 == 3


def _run_cli(capsys, *argv):
    code = main(['export', *map(str, argv)])
    return code, capsys.readouterr().err.strip().splitlines()


def test_missing_checkpoint_is_one_line(trained, tmp_path, capsys):
    config, _, _ = trained
    code, err = _run_cli(capsys, config, tmp_path / 'nope.pth', tmp_path / 'm.onnx',
                         '--format', 'onnx')
    assert code == 2 and len(err) == 1 and 'nope.pth' in err[0] and 'not found' in err[0]
    assert not (tmp_path / 'm.onnx').exists()


def test_unknown_format_is_one_line(trained, tmp_path, capsys):
    config, checkpoint, _ = trained
    code, err = _run_cli(capsys, config, checkpoint, tmp_path / 'm.trt', '--format', 'tensorrt')
    assert code == 2 and len(err) == 1 and "'tensorrt'" in err[0] and 'onnx' in err[0]


@pytest.mark.parametrize('which', ['checkpoint', 'config'])
def test_output_over_an_input_is_refused(trained, capsys, which):
    config, checkpoint, _ = trained
    target = checkpoint if which == 'checkpoint' else config
    before = target.read_bytes()
    code, err = _run_cli(capsys, config, checkpoint, target, '--format', 'torchscript')
    assert code == 2 and len(err) == 1 and 'refusing to write OUTPUT' in err[0]
    assert target.read_bytes() == before


def test_check_size_below_the_minimum_is_one_line(trained, tmp_path, capsys):
    config, checkpoint, _ = trained
    code, err = _run_cli(capsys, config, checkpoint, tmp_path / 'm.pt', '--format',
                         'torchscript', '--check-sizes', '2x50')
    assert code == 2 and len(err) == 1 and 'smallest side' in err[0]
    assert not (tmp_path / 'm.pt').exists()


def test_failed_check_writes_nothing(trained, tmp_path, capsys, monkeypatch):
    """A file that does not match PyTorch never lands on OUTPUT (exit 1)."""
    import spairkit.export as export_pkg

    config, checkpoint, _ = trained
    real = export_pkg.load_runner

    def off_by_a_bit(fmt, path, device='cpu'):
        run = real(fmt, path, device)
        return lambda image: run(image) + 1e-3

    monkeypatch.setattr(export_pkg, 'load_runner', off_by_a_bit)
    out = tmp_path / 'm.pt'
    code = main(['export', str(config), str(checkpoint), str(out), '--format', 'torchscript',
                 '--check-sizes', '16x16'])
    captured = capsys.readouterr().out
    assert code == 1 and 'FAIL' in captured and 'was not written' in captured
    assert not out.exists() and not list(tmp_path.glob('.*'))
