"""Pure-PyTorch reference implementations of the SPAIR operators.

These are the operators of SPEC.md "Operators", written for clarity and exactness
first: the compiled kernels in :mod:`spairkit.ops.compiled` are tested against them,
and they are the backend of last resort. They are still written to be usable on real
images: everything is vectorised, every float input is differentiable through
autograd, and :func:`masked_criss_cross_attention` works line by line in chunks so
that it never holds an ``(H+W) x H x W`` attention tensor.

Conventions shared by all three operators:

* ``mask`` is ``(N, 1, H, W)`` of any dtype. A pixel is *degraded* (``M = 1``) where
  ``mask > 0.5`` (``True`` for a bool mask) and *clean* (``M = 0``) elsewhere; see
  :func:`binary_mask`. The mask is never differentiated.
* Computation runs in float32, or float64 when any float input is float64, with
  autocast switched off inside the operator, so reduced-precision inputs under
  autocast are handled at full precision; the result has the dtype of the main
  feature input (``x``, ``value`` or ``feat``).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

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

#: Upper bound on the number of attention logits (lines x length x length) that
#: :func:`masked_criss_cross_attention` materialises per chunk; with the handful of
#: same-sized temporaries of the softmax this keeps a chunk well under 200 MB in float32.
DEFAULT_CCA_CHUNK_ELEMENTS = 1 << 22


# --------------------------------------------------------------------------- checks
def binary_mask(mask: torch.Tensor) -> torch.Tensor:
    """The degraded-pixel indicator of ``mask`` as a bool tensor (``mask > 0.5``).

    One rule for every backend, so a soft mask (e.g. a probability map passed by
    mistake) is thresholded the same way everywhere instead of being half-applied.
    """
    if mask.dtype == torch.bool:
        return mask
    return mask.detach() > 0.5


def compute_dtype(*tensors: torch.Tensor | None) -> torch.dtype:
    """float64 if any given float tensor is float64, else float32."""
    if any(t is not None and t.dtype == torch.float64 for t in tensors):
        return torch.float64
    return torch.float32


def _require_float(name: str, t: torch.Tensor) -> None:
    if not isinstance(t, torch.Tensor):
        raise ValueError(f'{name} must be a torch.Tensor, got {type(t).__name__}')
    if not t.is_floating_point():
        raise ValueError(f'{name} must be a floating-point tensor, got dtype {t.dtype}')


def _require_4d(name: str, t: torch.Tensor) -> None:
    if t.dim() != 4:
        raise ValueError(f'{name} must be 4-D (N, C, H, W), got shape {tuple(t.shape)}')


def _check_mask(mask: torch.Tensor, n: int, h: int, w: int, ref: str) -> None:
    if not isinstance(mask, torch.Tensor):
        raise ValueError(f'mask must be a torch.Tensor, got {type(mask).__name__}')
    if tuple(mask.shape) != (n, 1, h, w):
        raise ValueError(
            f'mask must have shape (N, 1, H, W) = {(n, 1, h, w)} to match {ref}, '
            f'got {tuple(mask.shape)}')
    if mask.is_complex():
        raise ValueError(f'mask must be real or bool, got dtype {mask.dtype}')


def _check_same_device(**tensors: torch.Tensor | None) -> None:
    devices = {name: t.device for name, t in tensors.items() if t is not None}
    if len(set(devices.values())) > 1:
        listing = ', '.join(f'{name} on {dev}' for name, dev in devices.items())
        raise ValueError(f'all inputs must be on the same device, got {listing}')


def check_sparse_conv2d_args(x: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                             bias: torch.Tensor | None, dilation: int) -> None:
    """Raise ValueError naming the offending argument if the inputs break the contract."""
    _require_float('x', x)
    _require_4d('x', x)
    _require_float('weight', weight)
    n, c, h, w = x.shape
    _check_mask(mask, n, h, w, f'x {tuple(x.shape)}')
    if weight.dim() != 4:
        raise ValueError(f'weight must be 4-D (C_out, C_in, k, k), got {tuple(weight.shape)}')
    c_out, c_in, kh, kw = weight.shape
    if c_in != c:
        raise ValueError(f'weight has {c_in} input channels but x has {c} channels')
    if kh != kw or kh % 2 == 0:
        raise ValueError(f'weight must have an odd square kernel, got {kh}x{kw}')
    if bias is not None:
        _require_float('bias', bias)
        if tuple(bias.shape) != (c_out,):
            raise ValueError(f'bias must have shape ({c_out},), got {tuple(bias.shape)}')
    if isinstance(dilation, bool) or not isinstance(dilation, int) or dilation < 1:
        raise ValueError(f'dilation must be an integer >= 1, got {dilation!r}')
    _check_same_device(x=x, mask=mask, weight=weight, bias=bias)


def check_masked_criss_cross_attention_args(query: torch.Tensor, key: torch.Tensor,
                                            value: torch.Tensor, mask: torch.Tensor,
                                            weights: torch.Tensor, scale: float) -> None:
    """Raise ValueError naming the offending argument if the inputs break the contract."""
    for name, t in (('query', query), ('key', key), ('value', value), ('weights', weights)):
        _require_float(name, t)
        _require_4d(name, t)
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
    _check_mask(mask, n, h, w, f'query {tuple(query.shape)}')
    if isinstance(scale, torch.Tensor) or not isinstance(scale, (int, float)):
        raise ValueError(f'scale must be a Python number, got {type(scale).__name__}')
    if scale != scale or scale in (float('inf'), float('-inf')):
        raise ValueError(f'scale must be finite, got {scale!r}')
    _check_same_device(query=query, key=key, value=value, mask=mask, weights=weights)


def check_masked_feature_modulation_args(feat: torch.Tensor, mask: torch.Tensor,
                                         eps: float) -> None:
    """Raise ValueError naming the offending argument if the inputs break the contract."""
    _require_float('feat', feat)
    _require_4d('feat', feat)
    n, _, h, w = feat.shape
    _check_mask(mask, n, h, w, f'feat {tuple(feat.shape)}')
    if isinstance(eps, torch.Tensor) or not isinstance(eps, (int, float)):
        raise ValueError(f'eps must be a Python number, got {type(eps).__name__}')
    if not 0 < eps < float('inf'):
        # eps > 0 keeps 1/sqrt(var_d + eps) finite for a constant degraded region.
        raise ValueError(f'eps must be a finite number > 0, got {eps!r}')
    _check_same_device(feat=feat, mask=mask)


def _no_autocast(device: torch.device):
    """Context that switches autocast off so the reference runs at full precision."""
    return torch.autocast(device_type=device.type, enabled=False)


# ------------------------------------------------------------------- sparse conv (SC)
def sparse_conv2d(x: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, dilation: int = 1) -> torch.Tensor:
    """Submanifold sparse convolution, SPAIR eq. (2).

    ``out = M * (conv2d(x * M, weight, padding=dilation*(k//2), dilation) + bias)``:
    stride 1, "same" size, only degraded neighbours contribute and the output is zero
    at clean pixels. The reference computes the dense convolution (it is the oracle,
    not the fast path) but skips images that have no degraded pixel at all.
    """
    check_sparse_conv2d_args(x, mask, weight, bias, dilation)
    out_dtype = x.dtype
    dtype = compute_dtype(x, weight, bias)
    m = binary_mask(mask)
    n = x.shape[0]
    k = weight.shape[-1]
    with _no_autocast(x.device):
        xc = x.to(dtype)
        wc = weight.to(dtype)
        bc = None if bias is None else bias.to(dtype)
        active = m.flatten(1).any(dim=1)
        n_active = int(active.sum())
        out_shape = (n, weight.shape[0], x.shape[2], x.shape[3])
        if n_active == n:
            idx = None
        elif n_active == 0:
            # The output is all zeros; computing one (all-clean, hence zero) image keeps
            # it in the autograd graph, so backward gives zero gradients, not None.
            idx = torch.zeros(1, dtype=torch.long, device=x.device)
        else:
            idx = active.nonzero().squeeze(1)
        xs, ms = (xc, m) if idx is None else (xc[idx], m[idx])
        mf = ms.to(dtype)
        y = F.conv2d(xs * mf, wc, bc, stride=1, padding=dilation * (k // 2), dilation=dilation)
        y = y * mf
        if idx is not None:
            y = y.new_zeros(out_shape).index_put((idx,), y)
    return y.to(out_dtype)


# -------------------------------------------------------- criss-cross attention (SNL)
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


def masked_criss_cross_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 mask: torch.Tensor, weights: torch.Tensor, scale: float = 1.0,
                                 *, chunk_lines: int | None = None) -> torch.Tensor:
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
    with _no_autocast(value.device):
        q, k, v, w = (t.to(dtype) for t in (query, key, value, weights))
        rows = _line_pass(q, k, v, m, w[:, 0:2], scale, chunk_lines)
        cols = _line_pass(q.transpose(2, 3), k.transpose(2, 3), v.transpose(2, 3),
                          m.transpose(1, 2), w[:, 2:4].transpose(2, 3), scale, chunk_lines)
        out = rows + cols.transpose(2, 3)
    return out.to(out_dtype)


# ----------------------------------------------------------- feature modulation (SFM)
def masked_feature_modulation(feat: torch.Tensor, mask: torch.Tensor,
                              eps: float = 1e-5) -> torch.Tensor:
    """SFM, SPAIR eq. (1): give degraded pixels the clean pixels' statistics.

    Per image and channel, with population statistics over degraded (d) and clean (c)
    pixels: ``out = M * (sqrt(var_c+eps) * (feat - mu_d) / sqrt(var_d+eps) + mu_c)
    + (1 - M) * feat``. Images without a degraded pixel or without a clean pixel pass
    through unchanged (there is nothing to modulate, or no statistics to take).
    """
    check_masked_feature_modulation_args(feat, mask, eps)
    out_dtype = feat.dtype
    dtype = compute_dtype(feat)
    m = binary_mask(mask)
    with _no_autocast(feat.device):
        f = feat.to(dtype)
        md = m.to(dtype)
        mc = 1 - md
        dims: Sequence[int] = (2, 3)
        n_d = md.sum(dim=dims, keepdim=True)  # (N, 1, 1, 1)
        n_c = mc.sum(dim=dims, keepdim=True)
        valid = (n_d > 0) & (n_c > 0)
        # Clamped counts only matter for images that pass through unchanged; they keep
        # every intermediate finite so no NaN reaches the gradients.
        n_d1 = n_d.clamp_min(1)
        n_c1 = n_c.clamp_min(1)
        mu_d = (f * md).sum(dim=dims, keepdim=True) / n_d1
        mu_c = (f * mc).sum(dim=dims, keepdim=True) / n_c1
        var_d = ((f - mu_d).square() * md).sum(dim=dims, keepdim=True) / n_d1
        var_c = ((f - mu_c).square() * mc).sum(dim=dims, keepdim=True) / n_c1
        modulated = torch.sqrt(var_c + eps) * (f - mu_d) / torch.sqrt(var_d + eps) + mu_c
        out = torch.where(m & valid, modulated, f)
    return out.to(out_dtype)
