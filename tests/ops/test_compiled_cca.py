"""Compiled C++ masked criss-cross attention against the reference and the oracle."""
from __future__ import annotations

import shutil

import pytest
import torch

from spairkit.ops import compiled, reference

pytestmark = pytest.mark.skipif(shutil.which('c++') is None, reason='no C++ compiler')


@pytest.fixture(scope='module', autouse=True)
def ext():
    return compiled.load('cpp')


def _mask(kind, n, h, w, gen):
    if kind == 'random':
        return (torch.rand(n, 1, h, w, generator=gen) > 0.6).float()
    if kind == 'empty':
        return torch.zeros(n, 1, h, w)
    if kind == 'full':  # every ray empty: the output must be exactly 0, not NaN
        return torch.ones(n, 1, h, w)
    if kind == 'one_clean':
        m = torch.ones(n, 1, h, w)
        m[:, :, h // 2, w // 2] = 0
        return m
    if kind == 'per_image':
        return torch.stack([(torch.rand(1, h, w, generator=gen) < i / n).float()
                            for i in range(n)])
    raise ValueError(kind)


CASES = [
    # n, cq, c, h, w, mask
    (1, 3, 4, 5, 6, 'random'),
    (3, 2, 5, 7, 5, 'per_image'),
    (2, 4, 3, 1, 9, 'random'),
    (2, 4, 3, 8, 1, 'random'),
    (2, 3, 5, 6, 7, 'empty'),
    (2, 3, 5, 6, 7, 'full'),
    (1, 3, 5, 5, 6, 'one_clean'),
    (2, 5, 13, 9, 11, 'random'),
]


def _inputs(case, dtype, seed=0):
    n, cq, c, h, w, kind = case
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(n, cq, h, w, generator=gen, dtype=dtype)
    k = torch.randn(n, cq, h, w, generator=gen, dtype=dtype)
    v = torch.randn(n, c, h, w, generator=gen, dtype=dtype)
    weights = torch.softmax(torch.randn(n, 4, h, w, generator=gen, dtype=dtype), dim=1)
    return q, k, v, _mask(kind, n, h, w, gen), weights


@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize('case', CASES, ids=lambda c: '-'.join(map(str, c)))
def test_forward_and_backward_match_reference(case, dtype, tol):
    q, k, v, mask, weights = _inputs(case, dtype)
    leaves = [t.requires_grad_() for t in (q, k, v, weights)]
    out = compiled.masked_criss_cross_attention(q, k, v, mask, weights, scale=0.8)
    ref = reference.masked_criss_cross_attention(q, k, v, mask, weights, scale=0.8)
    assert out.dtype == dtype and torch.isfinite(out).all()
    torch.testing.assert_close(out, ref, atol=tol, rtol=tol)
    grad = torch.randn(out.shape, generator=torch.Generator().manual_seed(3), dtype=dtype)
    got = torch.autograd.grad(out, leaves, grad)
    want = torch.autograd.grad(ref, leaves, grad)
    for g, r in zip(got, want):
        assert g is not None and torch.isfinite(g).all()
        torch.testing.assert_close(g, r, atol=tol * 10, rtol=tol * 10)


def test_matches_naive_oracle(naive):
    q, k, v, mask, weights = _inputs((2, 3, 4, 5, 7, 'random'), torch.float64)
    out = compiled.masked_criss_cross_attention(q, k, v, mask, weights, scale=1.3)
    torch.testing.assert_close(out, naive.criss_cross(q, k, v, mask, weights, scale=1.3))


def test_gradcheck_float64():
    q, k, v, mask, weights = _inputs((2, 2, 3, 4, 5, 'random'), torch.float64, seed=5)
    args = [t.requires_grad_() for t in (q, k, v, weights)]
    assert torch.autograd.gradcheck(
        lambda a, b, c, d: compiled.masked_criss_cross_attention(a, b, c, mask, d, 0.5), args)


def test_full_and_empty_masks_are_exact_zeros():
    for kind in ('full', 'empty'):
        q, k, v, mask, weights = _inputs((2, 3, 4, 5, 6, kind), torch.float32)
        leaves = [t.requires_grad_() for t in (q, k, v, weights)]
        out = compiled.masked_criss_cross_attention(q, k, v, mask, weights)
        assert (out == 0).all()
        for g in torch.autograd.grad(out.sum(), leaves):
            assert g is not None and (g == 0).all()


def test_single_clean_pixel_is_the_only_key():
    q, k, v, mask, weights = _inputs((1, 3, 4, 5, 6, 'one_clean'), torch.float64)
    out = compiled.masked_criss_cross_attention(q, k, v, mask, weights)
    ci, cj = 2, 3
    # A degraded pixel left of the clean one in its row sees it in its "right" ray only.
    torch.testing.assert_close(out[0, :, ci, 0], weights[0, 1, ci, 0] * v[0, :, ci, cj])
    torch.testing.assert_close(out[0, :, 0, cj], weights[0, 3, 0, cj] * v[0, :, ci, cj])
    assert (out[0, :, 0, 0] == 0).all()  # shares neither row nor column
    assert (out[0, :, ci, cj] == 0).all()  # the clean pixel itself


def test_non_contiguous_and_channels_last_inputs():
    q, k, v, mask, weights = _inputs((2, 4, 6, 6, 5, 'random'), torch.float64)
    want = reference.masked_criss_cross_attention(q, k, v, mask, weights)
    q_cl = q.contiguous(memory_format=torch.channels_last)
    v_strided = torch.zeros(2, 12, 6, 10, dtype=torch.float64)[:, ::2, :, ::2]
    v_strided.copy_(v)
    k_t = k.transpose(2, 3).contiguous().transpose(2, 3)
    leaves = [t.detach().requires_grad_() for t in (q_cl, k_t, v_strided, weights)]
    out = compiled.masked_criss_cross_attention(*leaves[:3], mask, leaves[3])
    torch.testing.assert_close(out, want)
    grads = torch.autograd.grad((out * out).sum(), leaves)
    ref_leaves = [t.detach().requires_grad_() for t in (q, k, v, weights)]
    ref_out = reference.masked_criss_cross_attention(*ref_leaves[:3], mask, ref_leaves[3])
    ref_grads = torch.autograd.grad((ref_out * ref_out).sum(), ref_leaves)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r)


def test_deterministic_bitwise():
    q, k, v, mask, weights = _inputs((2, 8, 16, 20, 24, 'random'), torch.float32)
    runs = []
    for _ in range(2):
        leaves = [t.detach().requires_grad_() for t in (q, k, v, weights)]
        out = compiled.masked_criss_cross_attention(*leaves[:3], mask, leaves[3])
        runs.append((out, *torch.autograd.grad((out * out).sum(), leaves)))
    for a, b in zip(*runs):
        assert torch.equal(a, b)


def test_large_logits_do_not_overflow():
    q, k, v, mask, weights = _inputs((1, 4, 3, 6, 6, 'random'), torch.float32)
    out = compiled.masked_criss_cross_attention(q * 100, k * 100, v, mask, weights)
    ref = reference.masked_criss_cross_attention(q * 100, k * 100, v, mask, weights)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


def test_half_input_on_cpu_returns_half():
    q, k, v, mask, weights = _inputs((1, 4, 4, 5, 6, 'random'), torch.float32)
    out = compiled.masked_criss_cross_attention(q.half(), k.half(), v.half(), mask,
                                                weights.half())
    assert out.dtype == torch.float16
    ref = reference.masked_criss_cross_attention(q.half(), k.half(), v.half(), mask,
                                                 weights.half())
    torch.testing.assert_close(out.float(), ref.float(), atol=1e-2, rtol=1e-2)
