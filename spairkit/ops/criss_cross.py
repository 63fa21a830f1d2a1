"""Masked criss-cross attention (SNL's directional aggregation, SPAIR eqs. (3)-(5)),
all of its Python in one place.

For every degraded pixel p and direction d in (left, right, up, down) the keys are the
clean pixels on the ray from p in direction d (p excluded);
``g_d(p) = sum_q softmax_q(scale * <query(p), key(q)>) value(q)`` (0 for an empty ray)
and ``out(p) = sum_d weights(p, d) g_d(p)``; ``out = 0`` at clean pixels.

Sections, in reading order:

1. argument check (:func:`check_masked_criss_cross_attention_args`);
2. the reference (:func:`reference_masked_criss_cross_attention`): the definition,
   pure PyTorch, line by line in chunks so it never holds an ``(H+W) x H x W`` tensor;
3. the dense-equivalent formulation (:func:`dense_masked_criss_cross_attention`), for
   export;
4. the compiled backend: the ``torch.library`` ops ``spairkit::cca_forward`` and
   ``spairkit::cca_backward`` around the pybind11 entry points of
   ``cuda_ops/bindings/criss_cross.cpp``, their fake (shape) functions and autograd,
   and :func:`compiled_masked_criss_cross_attention`;
5. dispatch: the public :func:`masked_criss_cross_attention`.

The compact-path variant (queries given at the degraded sites only) is
:func:`spairkit.ops.sites.site_criss_cross`.
"""
from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

from spairkit.ops._common import (
    binary_mask,
    check_mask,
    check_same_device,
    compute_dtype,
    extension,
    full_precision,
    kernel_dtype,
    library_ops,
    memory_format_of,
    no_autocast,
    require_4d,
    require_float,
)
from spairkit.ops.backend import (
    compiled_module,
    current_backend,
    dense_module,
    dense_ops_enabled,
)

__all__ = [
    'DEFAULT_CCA_CHUNK_ELEMENTS',
    'check_masked_criss_cross_attention_args',
    'compiled_masked_criss_cross_attention',
    'dense_masked_criss_cross_attention',
    'masked_criss_cross_attention',
    'reference_masked_criss_cross_attention',
]

#: Upper bound on the number of attention logits (lines x length x length) that
#: :func:`reference_masked_criss_cross_attention` materialises per chunk; with the
#: handful of same-sized temporaries of the softmax this keeps a chunk well under 200 MB
#: in float32.
DEFAULT_CCA_CHUNK_ELEMENTS = 1 << 22


# ------------------------------------------------------------------------ check
def check_masked_criss_cross_attention_args(query: torch.Tensor, key: torch.Tensor,
                                            value: torch.Tensor, mask: torch.Tensor,
                                            weights: torch.Tensor, scale: float) -> None:
    """Raise ValueError naming the offending argument if the inputs break the contract."""
    for name, t in (('query', query), ('key', key), ('value', value), ('weights', weights)):
        require_float(name, t)
        require_4d(name, t)
    n, cq, h, w = query.shape
    if tuple(key.shape) != tuple(query.shape):
        raise ValueError(
            f'key must have the shape of query {tuple(query.shape)}, got {tuple(key.shape)}')
    if (value.shape[0], value.shape[2], value.shape[3]) != (n, h, w):
        raise ValueError(
            f'value must be (N, C, H, W) with N, H, W = {(n, h, w)} of query, '
            f'got {tuple(value.shape)}')
    if tuple(weights.shape) != (n, 4, h, w):
        raise ValueError(
            f'weights must have shape (N, 4, H, W) = {(n, 4, h, w)}, got {tuple(weights.shape)}')
    check_mask(mask, n, h, w, f'query {tuple(query.shape)}')
    if isinstance(scale, torch.Tensor) or not isinstance(scale, (int, float)):
        raise ValueError(f'scale must be a Python number, got {type(scale).__name__}')
    if scale != scale or scale in (float('inf'), float('-inf')):
        raise ValueError(f'scale must be finite, got {scale!r}')
    check_same_device(query=query, key=key, value=value, mask=mask, weights=weights)


# -------------------------------------------------------------------- reference
def _ray_softmax_weights(logits: torch.Tensor, keys_clean: torch.Tensor,
                         w_before: torch.Tensor, w_after: torch.Tensor) -> torch.Tensor:
    """Fused attention matrix of the two rays of a line.

    ``logits`` is ``(L, S, S)`` (query position i, key position j along each line),
    ``keys_clean`` is ``(L, S)``, ``w_before``/``w_after`` are ``(L, S)`` weights of the
    ray towards smaller/larger positions (already zero at clean query pixels). Returns
    ``w_before(i) * softmax_{j<i, clean}(logits) + w_after(i) * softmax_{j>i, clean}``,
    with an empty ray contributing exactly zero. Both rays are disjoint in j, so one
    ``(L, S, S)`` matrix holds both and a single matmul with the values finishes the job.
    """
    s = logits.shape[-1]
    pos = torch.arange(s, device=logits.device)
    before = pos.view(1, s) < pos.view(s, 1)  # [i, j]: j < i
    after = pos.view(1, s) > pos.view(s, 1)
    clean = keys_clean.unsqueeze(1)  # (L, 1, S) over j
    result = None
    for ray, w_ray in ((before, w_before), (after, w_after)):
        allowed = clean & ray  # (L, S, S)
        masked = logits.masked_fill(~allowed, float('-inf'))
        row_max = masked.amax(dim=-1, keepdim=True).detach()
        row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
        e = torch.exp(masked - row_max)  # exactly 0 where not allowed, grads stay finite
        denom = e.sum(dim=-1, keepdim=True)
        # A non-empty ray has denom >= 1 (its max term is exp(0)); an empty one has 0.
        denom = torch.where(denom > 0, denom, torch.ones_like(denom))
        part = e * (w_ray.unsqueeze(-1) / denom)
        result = part if result is None else result + part
    return result


def _attend_chunk(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, clean: torch.Tensor,
                  w: torch.Tensor, scale: float) -> torch.Tensor:
    """Both rays of ``L`` gathered lines: ``(L, S, Cq)`` x2, ``(L, S, C)``, ``(L, S)``
    bool, ``(L, S, 2)`` -> ``(L, S, C)``."""
    logits = torch.matmul(q, k.transpose(1, 2)) * scale  # (L, S, S)
    attn = _ray_softmax_weights(logits, clean, w[..., 0], w[..., 1])
    return torch.matmul(attn, v)


def _line_pass(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, m: torch.Tensor,
               w: torch.Tensor, scale: float, chunk_lines: int | None) -> torch.Tensor:
    """Attention along the last spatial axis of every line that has a degraded pixel.

    ``q``, ``k``: ``(N, Cq, A, S)``; ``v``: ``(N, C, A, S)``; ``m``: ``(N, A, S)`` bool;
    ``w``: ``(N, 2, A, S)`` weights of the before/after rays. A line is one index of
    axis A (a row for left/right, a column for up/down after transposition). Returns
    ``(N, C, A, S)``, zero on lines without a degraded pixel (they are never computed).
    """
    n, c, a, s = v.shape
    if m.numel() == 0:  # empty batch or zero-sized image: nothing to attend over
        return v.new_zeros(n, c, a, s)
    lines = m.any(dim=-1).nonzero()  # (Ltot, 2): (image, line) pairs with work to do
    if lines.shape[0] == 0:
        # Nothing degraded: process line (0, 0), whose weights are all zero, so the
        # zero result stays in the autograd graph (zero gradients rather than None).
        lines = torch.zeros(1, 2, dtype=torch.long, device=m.device)
    bi, li = lines[:, 0], lines[:, 1]
    # Gather the active lines as (Ltot, S, channels); clean query pixels get weight 0.
    q_l = q.permute(0, 2, 3, 1)[bi, li]
    k_l = k.permute(0, 2, 3, 1)[bi, li]
    v_l = v.permute(0, 2, 3, 1)[bi, li]
    m_l = m[bi, li]
    w_l = w.permute(0, 2, 3, 1)[bi, li] * m_l.unsqueeze(-1).to(w.dtype)  # (Ltot, S, 2)
    clean_l = ~m_l
    if chunk_lines is None:
        chunk_lines = max(1, DEFAULT_CCA_CHUNK_ELEMENTS // (s * s))
    n_lines = lines.shape[0]
    # With autograd, each chunk's (L, S, S) intermediates would be kept for backward,
    # so all chunks together would hold the whole-image attention after all; recompute
    # them chunk by chunk in backward instead (only when there is more than one chunk).
    recompute = (n_lines > chunk_lines and torch.is_grad_enabled()
                 and any(t.requires_grad for t in (q_l, k_l, v_l, w_l)))
    outs = []
    for start in range(0, n_lines, chunk_lines):
        sl = slice(start, start + chunk_lines)
        args = (q_l[sl], k_l[sl], v_l[sl], clean_l[sl], w_l[sl], scale)
        if recompute:
            outs.append(checkpoint(_attend_chunk, *args, use_reentrant=False))
        else:
            outs.append(_attend_chunk(*args))
    g = torch.cat(outs, dim=0) if len(outs) > 1 else outs[0]
    full = g.new_zeros(n, a, s, c).index_put((bi, li), g)
    return full.permute(0, 3, 1, 2)


def reference_masked_criss_cross_attention(query: torch.Tensor, key: torch.Tensor,
                                           value: torch.Tensor, mask: torch.Tensor,
                                           weights: torch.Tensor, scale: float = 1.0, *,
                                           chunk_lines: int | None = None) -> torch.Tensor:
    """SNL's masked directional (criss-cross) attention, SPAIR eqs. (3)-(5).

    For each degraded pixel p and direction d in (left, right, up, down) the keys are
    the clean pixels on the ray from p in direction d (p excluded);
    ``g_d(p) = sum_q softmax_q(scale * <query(p), key(q)>) value(q)`` (0 for an empty
    ray) and ``out(p) = sum_d weights(p, d) g_d(p)``; ``out = 0`` at clean pixels.

    Rows (left/right) and columns (up/down) are processed separately, only those that
    hold a degraded pixel, ``chunk_lines`` lines at a time (default: as many as fit
    :data:`DEFAULT_CCA_CHUNK_ELEMENTS` logits), so memory is ``O(chunk * len^2)``
    rather than ``(H+W) x H x W``. ``chunk_lines`` exists for tests and tuning; the
    result does not depend on it.
    """
    check_masked_criss_cross_attention_args(query, key, value, mask, weights, scale)
    if chunk_lines is not None and (isinstance(chunk_lines, bool)
                                    or not isinstance(chunk_lines, int) or chunk_lines < 1):
        raise ValueError(f'chunk_lines must be an integer >= 1 or None, got {chunk_lines!r}')
    out_dtype = value.dtype
    dtype = compute_dtype(query, key, value, weights)
    m = binary_mask(mask)[:, 0]  # (N, H, W)
    scale = float(scale)
    with no_autocast(value.device):
        q, k, v, w = (t.to(dtype) for t in (query, key, value, weights))
        rows = _line_pass(q, k, v, m, w[:, 0:2], scale, chunk_lines)
        cols = _line_pass(q.transpose(2, 3), k.transpose(2, 3), v.transpose(2, 3),
                          m.transpose(1, 2), w[:, 2:4].transpose(2, 3), scale, chunk_lines)
        out = rows + cols.transpose(2, 3)
    return out.to(out_dtype)


# --------------------------------------------------------- dense-equivalent form
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


def dense_masked_criss_cross_attention(query: torch.Tensor, key: torch.Tensor,
                                       value: torch.Tensor, mask: torch.Tensor,
                                       weights: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """SNL's masked directional attention, eqs. (3)-(5), densely (for export).

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
    with full_precision(value.device):
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


# ----------------------------------------------------- compiled: torch.library
def _forward_impl(query, key, value, mask, weights, scale):
    return extension(value.device).cca_forward(query, key, value, mask, weights, scale)


def _forward_fake(query, key, value, mask, weights, scale):
    out = value.new_empty(value.shape).contiguous(memory_format=memory_format_of(value))
    if value.device.type == 'cuda':
        # Per degraded pixel and ray, the log-sum-exp for backward (accumulation dtype).
        p = torch.library.get_ctx().new_dynamic_size()
        acc = torch.float64 if value.dtype == torch.float64 else torch.float32
        return out, value.new_empty(p, 4, dtype=acc)
    return out, value.new_empty(0, dtype=torch.float32)  # the CPU backward recomputes


def _backward_impl(grad_out, query, key, value, mask, weights, scale, stats):
    return extension(value.device).cca_backward(grad_out, query, key, value, mask, weights,
                                                scale, stats)


def _backward_fake(grad_out, query, key, value, mask, weights, scale, stats):
    return tuple(t.new_empty(t.shape).contiguous(memory_format=memory_format_of(t))
                 for t in (query, key, value, weights))


def _setup_context(ctx, inputs, output):
    query, key, value, mask, weights, scale = inputs
    _, stats = output
    ctx.mark_non_differentiable(stats)
    ctx.save_for_backward(query, key, value, mask, weights, stats)
    ctx.scale = scale


def _backward(ctx, grad_out, _grad_stats):
    query, key, value, mask, weights, stats = ctx.saved_tensors
    gq, gk, gv, gw = library_ops(grad_out.device).cca_backward(
        grad_out, query, key, value, mask, weights, ctx.scale, stats)
    return gq, gk, gv, None, gw, None


def register_ops() -> None:
    """Define ``spairkit::cca_forward`` and ``spairkit::cca_backward``; called once, by
    :func:`spairkit.ops.compiled.register_ops`."""
    forward = torch.library.custom_op(
        'spairkit::cca_forward', _forward_impl, mutates_args=(),
        schema='(Tensor query, Tensor key, Tensor value, Tensor mask, Tensor weights, '
               'float scale) -> (Tensor, Tensor)')
    forward.register_fake(_forward_fake)
    backward = torch.library.custom_op(
        'spairkit::cca_backward', _backward_impl, mutates_args=(),
        schema='(Tensor grad_out, Tensor query, Tensor key, Tensor value, Tensor mask, '
               'Tensor weights, float scale, Tensor stats) -> (Tensor, Tensor, Tensor, Tensor)')
    backward.register_fake(_backward_fake)
    forward.register_autograd(_backward, setup_context=_setup_context)


def compiled_masked_criss_cross_attention(query: torch.Tensor, key: torch.Tensor,
                                          value: torch.Tensor, mask: torch.Tensor,
                                          weights: torch.Tensor,
                                          scale: float = 1.0) -> torch.Tensor:
    """SNL's masked directional attention on the compiled kernels; same contract as
    :func:`reference_masked_criss_cross_attention`."""
    check_masked_criss_cross_attention_args(query, key, value, mask, weights, scale)
    dtype = kernel_dtype(value.device, query, key, value, weights)
    m = binary_mask(mask).contiguous()
    with no_autocast(value.device):
        out, _ = library_ops(value.device).cca_forward(
            query.to(dtype), key.to(dtype), value.to(dtype), m, weights.to(dtype),
            float(scale))
    return out.to(value.dtype)


# --------------------------------------------------------------------- dispatch
def masked_criss_cross_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 mask: torch.Tensor, weights: torch.Tensor,
                                 scale: float = 1.0) -> torch.Tensor:
    """SNL's masked directional attention, SPAIR eqs. (3)-(5); see
    :func:`reference_masked_criss_cross_attention` for the exact definition."""
    if dense_ops_enabled():
        # The dense backend's entry point is dense_masked_criss_cross_attention above.
        return dense_module().masked_criss_cross_attention(query, key, value, mask, weights,
                                                           scale)
    check_masked_criss_cross_attention_args(query, key, value, mask, weights, scale)
    if current_backend(value.device) == 'torch':
        return reference_masked_criss_cross_attention(query, key, value, mask, weights, scale)
    # The compiled backend's entry point is compiled_masked_criss_cross_attention above.
    return compiled_module().masked_criss_cross_attention(query, key, value, mask, weights,
                                                          scale)
