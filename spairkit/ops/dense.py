"""Dense-equivalent formulations of the SPAIR operators, for exporting a model.

ONNX, TorchScript and ``torch.export`` see neither the compiled kernels nor the
reference's data-dependent shortcuts (``nonzero`` over active images and lines,
chunked loops). The functions here compute the *same numbers* as
:mod:`spairkit.ops.reference` (SPEC.md "Operators") with shape-static tensor
algebra only, so a graph holding them runs in any runtime and for any image size:

* :func:`sparse_conv2d`: ``M * (conv2d(x * M) + b)`` over the whole image;
* :func:`masked_criss_cross_attention`: the logits of every pixel against its whole
  row and its whole column (two einsums), each direction's softmax restricted to the
  clean pixels on its ray by a mask, an empty ray giving exactly 0 (never NaN, also
  in backward);
* :func:`masked_feature_modulation`: the masked statistics of eq. (1) (already dense).

They do no less work where the image is clean: an exported model has none of the
sparsity speed-up, and the criss-cross holds an ``(H + W) x H x W`` logit tensor per
image. They exist for export and for tests, not as a fast path.

The model's blocks call the public functions of :mod:`spairkit.ops`, which dispatch
to these formulations only inside :func:`dense_ops` (an explicit mode, used by
:mod:`spairkit.export`); outside it, none is used. Each formulation is defined in its
family module (``dense_*`` in :mod:`spairkit.ops.sparse_conv`,
:mod:`spairkit.ops.criss_cross`, :mod:`spairkit.ops.feature_modulation`) and the
mode switch with the backend choice (:mod:`spairkit.ops.backend`); this module gives
them their export-facing names.
"""
from __future__ import annotations

from spairkit.ops.backend import dense_ops, dense_ops_enabled
from spairkit.ops.criss_cross import (
    dense_masked_criss_cross_attention as masked_criss_cross_attention,
)
from spairkit.ops.feature_modulation import (
    dense_masked_feature_modulation as masked_feature_modulation,
)
from spairkit.ops.sparse_conv import dense_sparse_conv2d as sparse_conv2d

__all__ = [
    'dense_ops',
    'dense_ops_enabled',
    'masked_criss_cross_attention',
    'masked_feature_modulation',
    'sparse_conv2d',
]
