"""Exporting a trained SPAIR restorer (``spairkit export``; see docs/export.md).

The exported graph is the whole model, image in and image out (Net_L, the mask
threshold, Net_R, padding and crop), with dynamic height and width. ONNX and the
other runtimes have no sparse operator, so the graph holds the *dense-equivalent*
formulation of every mask-guided operator (:mod:`spairkit.ops.dense`): the same
numbers as SPEC.md's operators, none of the sparsity speed-up.
"""
from .formats import FORMATS, export_graph, load_runner, missing_packages
from .model import RestorerGraph, export_mode, min_side
from .verify import SizeCheck, check_sizes, parse_size

__all__ = [
    'FORMATS',
    'RestorerGraph',
    'SizeCheck',
    'check_sizes',
    'export_graph',
    'export_mode',
    'load_runner',
    'min_side',
    'missing_packages',
    'parse_size',
]
