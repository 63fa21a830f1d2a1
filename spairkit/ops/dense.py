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
here only inside :func:`dense_ops` (an explicit mode, used by :mod:`spairkit.export`);
outside it, nothing in this module is used.
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from spairkit.ops.reference import (
    binary_mask,
    check_masked_criss_cross_attention_args,
    check_masked_feature_modulation_args,
    check_sparse_conv2d_args,
    compute_dtype,
)

__all__ = [
    'dense_ops',
    'dense_ops_enabled',
    'masked_criss_cross_attention',
    'masked_feature_modulation',
    'sparse_conv2d',
]

_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar('spairkit_dense_ops',
                                                               default=False)


@contextlib.contextmanager
def dense_ops() -> Iterator[None]:
    """Within this context, :mod:`spairkit.ops` runs the dense-equivalent operators.

    Scoped to the current thread / async context (a :class:`contextvars.ContextVar`),
    so it cannot leak into other work; nesting is allowed.
    """
    token = _ENABLED.set(True)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def dense_ops_enabled() -> bool:
    """Whether the caller is inside :func:`dense_ops`."""
    return _ENABLED.get()


@contextlib.contextmanager
def _full_precision(device: torch.device) -> Iterator[None]:
    """Autocast off inside the operator, as in the reference; a no-op (and nothing in
    an exported graph) when autocast is not on."""
    if torch.is_autocast_enabled(device.type):
        with torch.autocast(device_type=device.type, enabled=False):
            yield
    else:
        yield


def sparse_conv2d(x: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, dilation: int = 1) -> torch.Tensor:
    """SC, eq. (2), densely: ``M * (conv2d(x * M, weight, "same", dilation) + bias)``."""
    check_sparse_conv2d_args(x, mask, weight, bias, dilation)
    dtype = compute_dtype(x, weight, bias)
    k = weight.shape[-1]
    with _full_precision(x.device):
        m = binary_mask(mask).to(dtype)
        y = F.conv2d(x.to(dtype) * m, weight.to(dtype),
                     None if bias is None else bias.to(dtype),
                     padding=dilation * (k // 2), dilation=dilation)
        y = y * m
    return y.to(x.dtype)


def _ray_attention(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Softmax of ``logits`` over the last axis restricted to ``allowed``; rows with
    nothing allowed are all zero.

    The maximum is taken over allowed entries only and every exponent is of a value
    ``<= 0`` (disallowed entries are replaced before ``exp``), so nothing overflows
    and no ``0 * inf`` or ``0 / 0`` appears, in forward or backward.
    """
    lowest = torch.finfo(logits.dtype).min
    row_max = torch.where(allowed, logits, lowest).amax(dim=-1, keepdim=True).detach()
    e = torch.where(allowed, torch.exp(torch.where(allowed, logits, row_max) - row_max), 0.0)
    denom = e.sum(dim=-1, keepdim=True)
    # A non-empty ray has denom >= 1 (its maximum contributes exp(0)); an empty one 0.
    return e / torch.where(denom > 0, denom, torch.ones_like(denom))


def masked_criss_cross_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 mask: torch.Tensor, weights: torch.Tensor,
                                 scale: float = 1.0) -> torch.Tensor:
    """SNL's masked directional attention, eqs. (3)-(5), densely.

    Per row, the logits of every query against every key of the row, ``(N, H, W, W)``
    ``[n, h, w, v]``; per column ``(N, W, H, H)`` ``[n, w, h, u]``. The left ray
    allows clean keys ``v < w``, right ``v > w``, up clean ``u < h``, down ``u > h``.
    The two rays of a line are disjoint, so their weighted attentions add into one
    matrix per line before a single matmul with the values. Batched ``matmul`` of
    permuted views rather than ``einsum``: its reshapes would tie the exported graph
    to conditions on H and W that ``torch.export`` cannot prove for dynamic sizes.
    """
    check_masked_criss_cross_attention_args(query, key, value, mask, weights, scale)
    dtype = compute_dtype(query, key, value, weights)
    with _full_precision(value.device):
        m = binary_mask(mask)[:, 0]  # (N, H, W)
        q, k, v = (t.to(dtype) for t in (query, key, value))
        w = weights.to(dtype) * m.unsqueeze(1).to(dtype)  # zero at clean query pixels
        out_rows = _line_attention(q.permute(0, 2, 3, 1), k.permute(0, 2, 1, 3),
                                   v.permute(0, 2, 3, 1), ~m, w[:, 0], w[:, 1], scale)
        out_cols = _line_attention(q.permute(0, 3, 2, 1), k.permute(0, 3, 1, 2),
                                   v.permute(0, 3, 2, 1), ~m.transpose(1, 2),
                                   w[:, 2].transpose(1, 2), w[:, 3].transpose(1, 2), scale)
        out = out_rows.permute(0, 3, 1, 2) + out_cols.permute(0, 3, 2, 1)
    return out.to(value.dtype)


def _line_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, clean: torch.Tensor,
                    w_before: torch.Tensor, w_after: torch.Tensor,
                    scale: float) -> torch.Tensor:
    """Both rays along the last spatial axis of every line.

    ``q`` ``(N, A, S, Cq)``, ``k`` ``(N, A, Cq, S)``, ``v`` ``(N, A, S, C)``, ``clean``,
    ``w_before``, ``w_after`` ``(N, A, S)``; returns ``(N, A, S, C)``.
    """
    logits = torch.matmul(q, k) * float(scale)  # (N, A, S, S): [query i, key j]
    pos = torch.arange(logits.shape[-1], device=logits.device)
    key_clean = clean.unsqueeze(2)  # (N, A, 1, S) over j
    before = key_clean & (pos.view(1, -1) < pos.view(-1, 1))  # j < i
    after = key_clean & (pos.view(1, -1) > pos.view(-1, 1))
    attn = (_ray_attention(logits, before) * w_before.unsqueeze(-1)
            + _ray_attention(logits, after) * w_after.unsqueeze(-1))
    return torch.matmul(attn, v)


def masked_feature_modulation(feat: torch.Tensor, mask: torch.Tensor,
                              eps: float = 1e-5) -> torch.Tensor:
    """SFM, eq. (1): per image and channel, degraded pixels take the clean pixels'
    mean and standard deviation; an image with no degraded or no clean pixel passes
    through unchanged."""
    check_masked_feature_modulation_args(feat, mask, eps)
    dtype = compute_dtype(feat)
    with _full_precision(feat.device):
        m = binary_mask(mask)
        f = feat.to(dtype)
        md = m.to(dtype)
        mc = 1 - md
        n_d = md.sum(dim=(2, 3), keepdim=True)
        n_c = mc.sum(dim=(2, 3), keepdim=True)
        valid = (n_d > 0) & (n_c > 0)
        n_d1, n_c1 = n_d.clamp_min(1), n_c.clamp_min(1)  # finite where passed through
        mu_d = (f * md).sum(dim=(2, 3), keepdim=True) / n_d1
        mu_c = (f * mc).sum(dim=(2, 3), keepdim=True) / n_c1
        var_d = ((f - mu_d).square() * md).sum(dim=(2, 3), keepdim=True) / n_d1
        var_c = ((f - mu_c).square() * mc).sum(dim=(2, 3), keepdim=True) / n_c1
        modulated = torch.sqrt(var_c + eps) * (f - mu_d) / torch.sqrt(var_d + eps) + mu_c
        out = torch.where(m & valid, modulated, f)
    return out.to(feat.dtype)
