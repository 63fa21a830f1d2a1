"""The three export formats: write a :class:`RestorerGraph`, load the file back, run it.

* ``onnx``: ``torch.onnx.export`` (the ``torch.export``-based exporter, needs the
  ``onnx`` and ``onnxscript`` packages), input ``image``, output ``restored``, height
  and width dynamic; run with ONNX Runtime.
* ``torchscript``: ``torch.jit.trace``. Every size-dependent step of the graph is
  tensor arithmetic on the input's shape (the padding is an index gather), so the
  trace records it and stays valid for other sizes; run with ``torch.jit.load``.
* ``exported-program``: ``torch.export.export`` with dynamic height and width,
  saved with ``torch.export.save`` (``.pt2``); run with ``torch.export.load``.

All three are traced inside :func:`spairkit.export.model.export_mode` and written
through :func:`spairkit.fileio.atomic_write` (complete or absent, the user's umask).
"""
from __future__ import annotations

import importlib.util
import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from spairkit.errors import UserError
from spairkit.fileio import atomic_write

from .model import RestorerGraph, export_mode, min_side

__all__ = ['FORMATS', 'MAX_SIDE', 'export_graph', 'load_runner', 'missing_packages']

FORMATS = ('onnx', 'torchscript', 'exported-program')
#: Upper bound declared for the dynamic height and width.
MAX_SIDE = 16384
#: Python packages each format needs to export / to run the exported file.
_EXPORT_NEEDS = {'onnx': ('onnx', 'onnxscript')}
_RUN_NEEDS = {'onnx': ('onnxruntime',)}


def missing_packages(fmt: str, run: bool = False) -> list[str]:
    """Packages that ``fmt`` needs (to export, and to run when ``run``) and lacks."""
    needs = _EXPORT_NEEDS.get(fmt, ()) + (_RUN_NEEDS.get(fmt, ()) if run else ())
    return [name for name in needs if importlib.util.find_spec(name) is None]


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r} is not an export format; use one of "
                        f"{', '.join(FORMATS)}")


def _dynamic_shapes(graph: RestorerGraph) -> dict:
    side = torch.export.Dim.DYNAMIC(min=min_side(graph), max=MAX_SIDE)
    return {'image': {2: side, 3: side}}


def _exported_program(graph: RestorerGraph, example: torch.Tensor):
    with export_mode():
        return torch.export.export(graph, (example,), dynamic_shapes=_dynamic_shapes(graph))


def _onnx_bytes(graph: RestorerGraph, example: torch.Tensor, opset: int | None) -> bytes:
    with export_mode(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the exporter's progress notes
        program = torch.onnx.export(graph, (example,), dynamo=True, external_data=False,
                                    input_names=['image'], output_names=['restored'],
                                    dynamic_shapes=_dynamic_shapes(graph),
                                    opset_version=opset, verbose=False)
    return program.model_proto.SerializeToString()


def _torchscript_bytes(graph: RestorerGraph, example: torch.Tensor) -> bytes:
    with export_mode(), warnings.catch_warnings():
        # Shape arithmetic is traced as tensors; the tracer warns about it anyway. torch
        # marks TorchScript deprecated (FutureWarning) but still runs and loads it.
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.simplefilter('ignore', FutureWarning)
        traced = torch.jit.trace(graph, (example,), check_trace=False)
        buf = io.BytesIO()
        torch.jit.save(traced, buf)
    return buf.getvalue()


def _program_bytes(graph: RestorerGraph, example: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    torch.export.save(_exported_program(graph, example), buf)
    return buf.getvalue()


def export_graph(graph: RestorerGraph, fmt: str, output: str | os.PathLike,
                 example: torch.Tensor, opset: int | None = None) -> Path:
    """Trace ``graph`` on ``example`` (N, 3, H, W) and write it to ``output`` as ``fmt``."""
    _check_format(fmt)
    missing = missing_packages(fmt)
    if missing:
        raise UserError(f"--format {fmt} needs the Python package(s) {', '.join(missing)} "
                        f"(pip install {' '.join(missing)})")
    if min(example.shape[-2:]) < min_side(graph):
        raise ValueError(f'example image {tuple(example.shape)} is smaller than the '
                         f'minimum side {min_side(graph)}')
    if fmt == 'onnx':
        data = _onnx_bytes(graph, example, opset)
    elif fmt == 'torchscript':
        data = _torchscript_bytes(graph, example)
    else:
        data = _program_bytes(graph, example)
    atomic_write(output, lambda f: f.write(data))
    return Path(output)


def load_runner(fmt: str, path: str | os.PathLike,
                device: torch.device | str = 'cpu') -> Callable[[torch.Tensor], torch.Tensor]:
    """A function running the exported file at ``path`` on an image batch (a tensor on
    ``device``, result on the same device), in the runtime the format is meant for."""
    _check_format(fmt)
    path = str(path)
    if fmt == 'onnx':
        missing = missing_packages(fmt, run=True)
        if missing:
            raise UserError(f"checking an ONNX export needs {', '.join(missing)} "
                            f"(pip install {' '.join(missing)}), or pass --no-verify")
        import onnxruntime

        providers = ['CPUExecutionProvider']
        if torch.device(device).type == 'cuda' and \
                'CUDAExecutionProvider' in onnxruntime.get_available_providers():
            providers.insert(0, 'CUDAExecutionProvider')
        session = onnxruntime.InferenceSession(path, providers=providers)

        def run_onnx(image: torch.Tensor) -> torch.Tensor:
            (out,) = session.run(['restored'], {'image': image.detach().cpu().numpy()})
            return torch.from_numpy(out).to(image.device)
        return run_onnx
    if fmt == 'torchscript':
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', FutureWarning)  # see _torchscript_bytes
            module = torch.jit.load(path, map_location=device)
        return lambda image: module(image)
    program = torch.export.load(path)
    module = program.module()
    return lambda image: module(image)
