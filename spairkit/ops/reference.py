"""The pure-PyTorch references of the SPAIR operators, under the names they have always
had here (``reference.sparse_conv2d`` ...).

Each reference is defined in its family module, next to the rest of that operator
(:mod:`spairkit.ops.sparse_conv`, :mod:`spairkit.ops.criss_cross`,
:mod:`spairkit.ops.feature_modulation`); the shared rules (mask threshold, dtypes) are
in :mod:`spairkit.ops._common`. They are the operators of SPEC.md "Operators" written
for clarity and exactness first: the compiled kernels are tested against them, and
they are the backend of last resort.
"""
from __future__ import annotations

from spairkit.ops._common import binary_mask, compute_dtype
from spairkit.ops.criss_cross import (
    DEFAULT_CCA_CHUNK_ELEMENTS,
    _attend_chunk,  # noqa: F401 - tests call the chunk kernel directly
    check_masked_criss_cross_attention_args,
)
from spairkit.ops.criss_cross import (
    reference_masked_criss_cross_attention as masked_criss_cross_attention,
)
from spairkit.ops.feature_modulation import check_masked_feature_modulation_args
from spairkit.ops.feature_modulation import (
    reference_masked_feature_modulation as masked_feature_modulation,
)
from spairkit.ops.sparse_conv import check_sparse_conv2d_args
from spairkit.ops.sparse_conv import reference_sparse_conv2d as sparse_conv2d

__all__ = [
    'binary_mask',
    'compute_dtype',
    'check_sparse_conv2d_args',
    'check_masked_criss_cross_attention_args',
    'check_masked_feature_modulation_args',
    'sparse_conv2d',
    'masked_criss_cross_attention',
    'masked_feature_modulation',
    'DEFAULT_CCA_CHUNK_ELEMENTS',
]
