"""Compiled C++ sparse_conv2d against the reference: forward, backward, edge cases.

Builds the CPU extension once per session (the on-disk cache makes later sessions
fast); a compiler failure fails these tests rather than skipping them.
"""
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
        m = torch.rand(n, 1, h, w, generator=gen) > 0.5
    elif kind == 'empty':
        m = torch.zeros(n, 1, h, w, dtype=torch.bool)
    elif kind == 'full':
        m = torch.ones(n, 1, h, w, dtype=torch.bool)
    elif kind == 'one_clean':
        m = torch.ones(n, 1, h, w, dtype=torch.bool)
        m[:, :, h // 2, w // 2] = False
    elif kind == 'per_image':  # a different density in every image, the first one empty
        m = torch.stack([torch.rand(1, h, w, generator=gen) < i / n for i in range(n)])
    else:
        raise ValueError(kind)
    return m.float()


CASES = [
    # n, cin, cout, h, w, k, dilation, mask
    (1, 3, 4, 5, 5, 3, 1, 'random'),
    (3, 5, 7, 6, 9, 3, 1, 'per_image'),
    (2, 13, 6, 7, 4, 3, 2, 'random'),
    (2, 4, 3, 1, 11, 3, 1, 'random'),
    (2, 4, 3, 10, 1, 3, 2, 'random'),
    (2, 6, 5, 5, 7, 3, 1, 'empty'),
    (2, 6, 5, 5, 7, 3, 1, 'full'),
    (1, 6, 5, 5, 7, 3, 1, 'one_clean'),
    (2, 9, 10, 8, 6, 1, 1, 'random'),
    (1, 3, 2, 9, 8, 5, 2, 'random'),
]


def _inputs(case, dtype, seed=0):
    n, cin, cout, h, w, k, d, kind = case
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, cin, h, w, generator=gen, dtype=dtype)
    weight = torch.randn(cout, cin, k, k, generator=gen, dtype=dtype) / (cin * k * k) ** 0.5
    bias = torch.randn(cout, generator=gen, dtype=dtype)
    return x, _mask(kind, n, h, w, gen), weight, bias, d


@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-10), (torch.float32, 1e-4)])
@pytest.mark.parametrize('case', CASES, ids=lambda c: '-'.join(map(str, c)))
def test_forward_and_backward_match_reference(case, dtype, tol):
    x, mask, weight, bias, d = _inputs(case, dtype)
    leaves = [t.requires_grad_() for t in (x, weight, bias)]
    out = compiled.sparse_conv2d(x, mask, weight, bias, d)
    ref = reference.sparse_conv2d(x, mask, weight, bias, d)
    assert out.shape == ref.shape and out.dtype == dtype
    torch.testing.assert_close(out, ref, atol=tol, rtol=tol)
    assert (out[(mask <= 0.5).expand_as(out)] == 0).all()
    grad = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=dtype)
    got = torch.autograd.grad(out, leaves, grad)
    want = torch.autograd.grad(ref, leaves, grad)
    for g, r in zip(got, want):
        assert g is not None and g.shape == r.shape
        torch.testing.assert_close(g, r, atol=tol * 10, rtol=tol * 10)


def test_matches_naive_oracle(naive):
    x, mask, weight, bias, d = _inputs((2, 3, 4, 6, 5, 3, 2, 'random'), torch.float64)
    out = compiled.sparse_conv2d(x, mask, weight, bias, d)
    torch.testing.assert_close(out, naive.sparse_conv2d(x, mask, weight, bias, d))


@pytest.mark.parametrize('dilation', [1, 2])
def test_gradcheck_float64(dilation):
    x, mask, weight, bias, _ = _inputs((2, 3, 2, 5, 4, 3, dilation, 'random'), torch.float64)
    args = [t.requires_grad_() for t in (x, weight, bias)]
    assert torch.autograd.gradcheck(
        lambda a, w, b: compiled.sparse_conv2d(a, mask, w, b, dilation), args)


def test_non_contiguous_and_channels_last_inputs():
    x, mask, weight, bias, d = _inputs((2, 8, 5, 7, 6, 3, 1, 'random'), torch.float64)
    xr = x.clone().requires_grad_()
    want = reference.sparse_conv2d(xr, mask, weight, bias, d)
    (want_grad,) = torch.autograd.grad((want * want).sum(), xr)
    channels_last = x.contiguous(memory_format=torch.channels_last)
    strided = torch.zeros(2, 16, 7, 12, dtype=torch.float64)[:, ::2, :, ::2]
    strided.copy_(x)
    transposed = x.transpose(2, 3).contiguous().transpose(2, 3)
    weight_cl = weight.contiguous(memory_format=torch.channels_last)
    for variant in (channels_last, strided, transposed):
        assert not variant.is_contiguous()
        v = variant.detach().requires_grad_()
        out = compiled.sparse_conv2d(v, mask, weight_cl, bias, d)
        torch.testing.assert_close(out, want)
        (grad,) = torch.autograd.grad((out * out).sum(), v)
        torch.testing.assert_close(grad, want_grad)
    out_cl = compiled.sparse_conv2d(channels_last, mask, weight, bias, d)
    assert out_cl.is_contiguous(memory_format=torch.channels_last)


def test_empty_mask_gives_zeros_and_zero_gradients():
    x, mask, weight, bias, d = _inputs((2, 4, 3, 5, 5, 3, 1, 'empty'), torch.float32)
    leaves = [t.requires_grad_() for t in (x, weight, bias)]
    out = compiled.sparse_conv2d(x, mask, weight, bias, d)
    assert (out == 0).all()
    for g in torch.autograd.grad(out.sum(), leaves):
        assert g is not None and (g == 0).all()


def test_deterministic_bitwise():
    x, mask, weight, bias, d = _inputs((2, 16, 16, 24, 20, 3, 1, 'random'), torch.float32)
    results = []
    for _ in range(2):
        xs = x.clone().requires_grad_()
        out = compiled.sparse_conv2d(xs, mask, weight, bias, d)
        results.append((out, *torch.autograd.grad((out * out).sum(), xs)))
    for a, b in zip(*results):
        assert torch.equal(a, b)


def test_reduced_precision_input_runs_in_float32():
    x, mask, weight, bias, d = _inputs((1, 8, 8, 6, 6, 3, 1, 'random'), torch.float32)
    out = compiled.sparse_conv2d(x.bfloat16(), mask, weight, bias, d)
    assert out.dtype == torch.bfloat16
    want = reference.sparse_conv2d(x.bfloat16(), mask, weight, bias, d)
    torch.testing.assert_close(out.float(), want.float(), atol=2e-2, rtol=2e-2)


def test_plan_is_reused_and_checked():
    x, mask, weight, bias, d = _inputs((2, 4, 4, 6, 7, 3, 1, 'random'), torch.float64)
    plan = compiled.sparse_plan(mask, kernel_size=3, dilation=1)
    assert plan.num_active == int((mask > 0.5).sum())
    assert plan.active.dtype == torch.int64 and plan.nbr.shape == (plan.num_active, 9)
    h1 = compiled.sparse_conv2d(x, mask, weight, bias, plan=plan)
    h2 = compiled.sparse_conv2d(h1, mask, weight, None, plan=plan)
    want = reference.sparse_conv2d(reference.sparse_conv2d(x, mask, weight, bias), mask, weight)
    torch.testing.assert_close(h2, want)
    with pytest.raises(ValueError, match='kernel 3, dilation 1'):
        compiled.sparse_conv2d(x, mask, weight, bias, dilation=2, plan=plan)
    with pytest.raises(ValueError, match='different mask'):
        compiled.sparse_conv2d(x, mask.clone(), weight, bias, plan=plan)
    mask.mul_(1)  # an in-place change bumps the version: the plan is stale
    with pytest.raises(ValueError, match='different mask'):
        compiled.sparse_conv2d(x, mask, weight, bias, plan=plan)


def test_plan_neighbours_point_at_active_sites():
    mask = torch.zeros(1, 1, 4, 5)
    mask[0, 0, 1, 1] = mask[0, 0, 1, 2] = mask[0, 0, 3, 4] = 1
    plan = compiled.sparse_plan(mask, kernel_size=3, dilation=1)
    assert plan.active.tolist() == [6, 7, 19]  # row-major flat indices
    # site (1,1): its right neighbour (tap 5) is site row 1, the centre (tap 4) itself
    assert plan.nbr[0].tolist() == [-1, -1, -1, -1, 0, 1, -1, -1, -1]
    assert plan.nbr[2].tolist() == [-1, -1, -1, -1, 2, -1, -1, -1, -1]


def test_sc_block_on_compiled_backend_builds_one_site_plan_and_matches_dense_reference(
        monkeypatch):
    """The block runs on the compact path with one plan for its seven layers and equals
    its full-map formulation (dense_forward) on the reference backend, with gradients."""
    from mmengine.registry import DefaultScope

    from spairkit.models.blocks import compact
    from spairkit.registry import MODELS

    with DefaultScope.overwrite_default_scope('spairkit'):
        block = MODELS.build(dict(type='SparseConvBlock', channels=6, growth=4)).double()
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(2, 6, 9, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    mask = _mask('per_image', 2, 9, 7, gen)
    built = []
    real_plan = compact.site_plan
    monkeypatch.setattr(compact, 'site_plan', lambda *a: built.append(a) or real_plan(*a))
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'cpp')
    out = block(x, mask)
    out.sum().backward()
    grad = x.grad.clone()
    assert len(built) == 1
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'torch')
    x.grad = None
    expected = block.dense_forward(x, mask)
    expected.sum().backward()
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(grad, x.grad)
