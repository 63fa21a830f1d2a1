"""SPAIR operators (SPEC.md "Operators"): sparse convolution, masked criss-cross
attention and masked feature modulation.

Each public function picks its backend per call (compiled CUDA, compiled C++ or the
pure-PyTorch reference in :mod:`spairkit.ops.reference`; see :mod:`spairkit.ops.backend`).
Importing this package compiles and loads nothing.
"""
from spairkit.ops.backend import (
    BACKEND_ENV_VAR,
    BACKENDS,
    available_backends,
    backend_status,
    current_backend,
    masked_criss_cross_attention,
    masked_feature_modulation,
    sparse_conv2d,
    sparse_plan,
)

__all__ = [
    'BACKEND_ENV_VAR',
    'BACKENDS',
    'available_backends',
    'backend_status',
    'current_backend',
    'masked_criss_cross_attention',
    'masked_feature_modulation',
    'sparse_conv2d',
    'sparse_plan',
]
