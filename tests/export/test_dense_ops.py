"""The dense-equivalent operators (spairkit.ops.dense) equal the reference.

Forward in float64 and float32, backward of every float input (gradients compared
with the reference's, and gradcheck in float64), odd and 1-pixel sizes, several
images with different masks, empty and full masks; and the explicit dispatch of the
public functions inside ``dense_ops()``.
"""
from __future__ import annotations

import pytest
import torch

from spairkit import ops
from spairkit.ops import dense, reference


def _masks(kind: str, n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind == 'empty':
        return torch.zeros(n, 1, h, w)
    if kind == 'full':
        return torch.ones(n, 1, h, w)
    if kind == 'mixed':  # one empty, one full, the rest random at different densities
        ms = [torch.zeros(1, h, w), torch.ones(1, h, w)]
        ms += [(torch.rand(1, h, w, generator=g) < 0.2 + 0.2 * i).float()
               for i in range(n - 2)]
        return torch.stack(ms[:n])
    return (torch.rand(n, 1, h, w, generator=g) < 0.4).float()


SHAPES = [(1, 5, 7), (3, 6, 9), (2, 1, 8), (2, 7, 1), (1, 1, 1)]
KINDS = ['random', 'empty', 'full', 'mixed']
#: (N, H, W) and mask kind; 'mixed' (an empty, a full and random images) needs N >= 2.
CASES = [(shape, kind) for shape in SHAPES for kind in KINDS
         if not (kind == 'mixed' and shape[0] < 2)]
CASE_IDS = ['x'.join(map(str, shape)) + f'-{kind}' for shape, kind in CASES]


def _rand(*shape, seed, dtype=torch.float64, grad=True):
    t = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return t.requires_grad_(grad)


def _compare(fn_ref, fn_dense, inputs, atol):
    out_r = fn_ref(*inputs)
    out_d = fn_dense(*inputs)
    assert out_d.dtype == out_r.dtype and out_d.shape == out_r.shape
    assert torch.isfinite(out_d).all()
    torch.testing.assert_close(out_d, out_r, atol=atol, rtol=atol)
    leaves = [t for t in inputs if isinstance(t, torch.Tensor) and t.requires_grad]
    g = torch.randn(out_r.shape, generator=torch.Generator().manual_seed(7)).to(out_r.dtype)
    grads_r = torch.autograd.grad(out_r, leaves, g, allow_unused=True)
    grads_d = torch.autograd.grad(out_d, leaves, g, allow_unused=True)
    for gr, gd in zip(grads_r, grads_d):
        gr = torch.zeros_like(gd) if gr is None else gr
        assert torch.isfinite(gd).all()
        torch.testing.assert_close(gd, gr, atol=atol, rtol=atol)


@pytest.mark.parametrize('shape,kind', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('k,dilation', [(3, 1), (3, 2), (1, 1), (5, 1)])
def test_sparse_conv2d_matches_reference(shape, kind, k, dilation):
    n, h, w = shape
    x = _rand(n, 3, h, w, seed=1)
    weight = _rand(4, 3, k, k, seed=2)
    bias = _rand(4, seed=3)
    mask = _masks(kind, n, h, w)
    _compare(lambda *a: reference.sparse_conv2d(*a, dilation=dilation),
             lambda *a: dense.sparse_conv2d(*a, dilation=dilation),
             (x, mask, weight, bias), atol=1e-10)


@pytest.mark.parametrize('shape,kind', CASES, ids=CASE_IDS)
def test_criss_cross_matches_reference(shape, kind):
    n, h, w = shape
    q, k = _rand(n, 2, h, w, seed=1), _rand(n, 2, h, w, seed=2)
    v = _rand(n, 3, h, w, seed=3)
    weights = torch.softmax(_rand(n, 4, h, w, seed=4, grad=False), dim=1).requires_grad_()
    mask = _masks(kind, n, h, w)
    inputs = (q, k, v, mask, weights, 0.7)
    _compare(reference.masked_criss_cross_attention, dense.masked_criss_cross_attention,
             inputs, atol=1e-10)


@pytest.mark.parametrize('shape,kind', CASES, ids=CASE_IDS)
def test_feature_modulation_matches_reference(shape, kind):
    n, h, w = shape
    feat = _rand(n, 3, h, w, seed=5)
    mask = _masks(kind, n, h, w)
    _compare(reference.masked_feature_modulation, dense.masked_feature_modulation,
             (feat, mask, 1e-5), atol=1e-10)


def test_float32_matches_reference():
    n, h, w = 2, 9, 11
    mask = _masks('random', n, h, w, seed=3)
    q, k = _rand(n, 4, h, w, seed=1, dtype=torch.float32), _rand(n, 4, h, w, seed=2,
                                                               dtype=torch.float32)
    v = _rand(n, 5, h, w, seed=3, dtype=torch.float32)
    weights = torch.softmax(_rand(n, 4, h, w, seed=4, dtype=torch.float32, grad=False),
                            dim=1).requires_grad_()
    _compare(reference.masked_criss_cross_attention, dense.masked_criss_cross_attention,
             (q, k, v, mask, weights, 0.5), atol=1e-5)
    weight = _rand(6, 5, 3, 3, seed=6, dtype=torch.float32)
    _compare(reference.sparse_conv2d, dense.sparse_conv2d, (v, mask, weight, None),
             atol=1e-5)


def test_criss_cross_huge_logits_stay_finite():
    """Keys far outside the softmax's range, and rays that are empty next to huge
    disallowed logits: no overflow, no NaN (forward and backward)."""
    n, c, h, w = 1, 2, 4, 6
    q = torch.full((n, c, h, w), 30.0, dtype=torch.float32, requires_grad=True)
    k = torch.full((n, c, h, w), 30.0, dtype=torch.float32, requires_grad=True)
    v = torch.randn(n, 3, h, w)
    mask = torch.zeros(n, 1, h, w)
    mask[:, :, :, :3] = 1  # left rays of the degraded block are empty
    weights = torch.full((n, 4, h, w), 0.25)
    out = dense.masked_criss_cross_attention(q, k, v, mask, weights, scale=10.0)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(q.grad).all()
    ref = reference.masked_criss_cross_attention(q.detach(), k.detach(), v, mask, weights,
                                                 scale=10.0)
    torch.testing.assert_close(out.detach(), ref)


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(0)
    n, h, w = 2, 4, 5
    mask = _masks('mixed', n, h, w)
    mask[1, 0, 1, 2] = 0  # the "full" image gets one clean pixel: non-trivial rays
    q, k, v = (torch.randn(n, 2, h, w, generator=g, dtype=torch.float64, requires_grad=True)
               for _ in range(3))
    weights = torch.rand(n, 4, h, w, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda *a: dense.masked_criss_cross_attention(*a[:3], mask, a[3], 0.8),
        (q, k, v, weights))
    x = torch.randn(n, 2, h, w, generator=g, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: dense.sparse_conv2d(a[0], mask, *a[1:]),
                                    (x, weight, bias))
    assert torch.autograd.gradcheck(lambda f: dense.masked_feature_modulation(f, mask),
                                    (x,))


def test_public_ops_dispatch_to_dense_only_inside_the_mode(monkeypatch):
    calls = []
    for name in ('sparse_conv2d', 'masked_criss_cross_attention',
                 'masked_feature_modulation'):
        original = getattr(dense, name)
        monkeypatch.setattr(dense, name, lambda *a, _o=original, _n=name, **kw:
                            calls.append(_n) or _o(*a, **kw))
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'torch')
    x = torch.randn(1, 2, 5, 6)
    mask = _masks('random', 1, 5, 6)
    weight = torch.randn(2, 2, 3, 3)
    weights = torch.softmax(torch.randn(1, 4, 5, 6), dim=1)
    run = lambda: (ops.sparse_conv2d(x, mask, weight),  # noqa: E731
                   ops.masked_criss_cross_attention(x, x, x, mask, weights),
                   ops.masked_feature_modulation(x, mask))
    outside = run()
    assert calls == []
    assert not dense.dense_ops_enabled()
    with dense.dense_ops():
        assert dense.dense_ops_enabled()
        assert ops.sparse_plan(mask) is None
        inside = run()
    assert not dense.dense_ops_enabled()
    assert calls == ['sparse_conv2d', 'masked_criss_cross_attention',
                     'masked_feature_modulation']
    for a, b in zip(outside, inside):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_dense_ops_check_their_arguments():
    x = torch.randn(1, 2, 5, 6)
    with pytest.raises(ValueError, match='mask must have shape'):
        dense.sparse_conv2d(x, torch.ones(1, 1, 4, 6), torch.randn(2, 2, 3, 3))
    with pytest.raises(ValueError, match='weights must have shape'):
        dense.masked_criss_cross_attention(x, x, x, torch.ones(1, 1, 5, 6),
                                           torch.ones(1, 3, 5, 6))


def test_export_padding_equals_the_eager_padding():
    """pad_to_multiple / crop_to inside dense_ops() (index gathers, no size branch) give
    exactly the eager reflect padding, 1-pixel and multiple-reflection sides included."""
    from spairkit.models.padding import crop_to, pad_to_multiple

    for multiple in (1, 2, 4, 8):
        for h in (1, 2, 3, 5, 8, 13):
            for w in (1, 4, 7, 9):
                x = torch.randn(2, 3, h, w)
                want, _ = pad_to_multiple(x, multiple)
                with dense.dense_ops():
                    got, size = pad_to_multiple(x, multiple)
                    back = crop_to(got, size)
                assert torch.equal(got, want), (multiple, h, w)
                assert torch.equal(back, x)
