"""Compiled CUDA operators against the CPU reference (run by tests/gpu/run.sh).

Skipped without a CUDA device. Each case runs the op on CUDA and the reference on
CPU in float64, forward and backward; reduced precision is checked loosely.
"""
from __future__ import annotations

import pytest
import torch

from spairkit.ops import compiled, reference

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')


@pytest.fixture(scope='module', autouse=True)
def ext():
    return compiled.load('cuda')


def _mask(kind, n, h, w, gen):
    if kind == 'random':
        return (torch.rand(n, 1, h, w, generator=gen) > 0.6).float()
    if kind == 'empty':
        return torch.zeros(n, 1, h, w)
    if kind == 'full':
        return torch.ones(n, 1, h, w)
    if kind == 'one_clean':
        m = torch.ones(n, 1, h, w)
        m[:, :, h // 2, w // 2] = 0
        return m
    return torch.stack([(torch.rand(1, h, w, generator=gen) < i / n).float() for i in range(n)])


CONV_CASES = [(1, 3, 4, 5, 5, 3, 1, 'random'), (3, 5, 7, 6, 9, 3, 1, 'per_image'),
              (2, 13, 6, 7, 4, 3, 2, 'random'), (2, 4, 3, 1, 11, 3, 1, 'random'),
              (2, 4, 3, 10, 1, 3, 2, 'random'), (2, 6, 5, 5, 7, 3, 1, 'empty'),
              (2, 6, 5, 5, 7, 3, 1, 'full'), (1, 6, 5, 5, 7, 3, 1, 'one_clean'),
              (2, 9, 10, 8, 6, 1, 1, 'random'), (1, 64, 64, 96, 80, 3, 1, 'random')]
CCA_CASES = [(1, 3, 4, 5, 6, 'random'), (3, 2, 5, 7, 5, 'per_image'), (2, 4, 3, 1, 9, 'random'),
             (2, 4, 3, 8, 1, 'random'), (2, 3, 5, 6, 7, 'empty'), (2, 3, 5, 6, 7, 'full'),
             (1, 3, 5, 5, 6, 'one_clean'), (2, 8, 64, 40, 56, 'random')]


def _grads(out, leaves, seed=1):
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed),
                    dtype=torch.float64).to(out.device, out.dtype)
    return out, torch.autograd.grad(out, leaves, g)


@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-9), (torch.float32, 1e-3),
                                       (torch.float16, 3e-2), (torch.bfloat16, 1e-1)])
@pytest.mark.parametrize('case', CONV_CASES, ids=lambda c: '-'.join(map(str, c)))
def test_sparse_conv2d_cuda_matches_cpu_reference(case, dtype, tol):
    n, cin, cout, h, w, k, d, kind = case
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, cin, h, w, generator=gen, dtype=torch.float64)
    weight = torch.randn(cout, cin, k, k, generator=gen, dtype=torch.float64) / (cin * k * k) ** .5
    bias = torch.randn(cout, generator=gen, dtype=torch.float64)
    mask = _mask(kind, n, h, w, gen)
    ref_leaves = [t.clone().requires_grad_() for t in (x, weight, bias)]
    ref, ref_g = _grads(reference.sparse_conv2d(*ref_leaves[:1], mask, *ref_leaves[1:], d),
                        ref_leaves)
    leaves = [t.to('cuda', dtype).requires_grad_() for t in (x, weight, bias)]
    out, got = _grads(compiled.sparse_conv2d(leaves[0], mask.cuda(), leaves[1], leaves[2], d),
                      leaves)
    assert out.dtype == dtype
    torch.testing.assert_close(out.double().cpu(), ref, atol=tol, rtol=tol)
    for g, r in zip(got, ref_g):
        torch.testing.assert_close(g.double().cpu(), r, atol=tol * 10, rtol=tol * 10)


@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-9), (torch.float32, 1e-4),
                                       (torch.float16, 3e-2), (torch.bfloat16, 1e-1)])
@pytest.mark.parametrize('case', CCA_CASES, ids=lambda c: '-'.join(map(str, c)))
def test_criss_cross_cuda_matches_cpu_reference(case, dtype, tol):
    n, cq, c, h, w, kind = case
    gen = torch.Generator().manual_seed(0)
    q, k = (torch.randn(n, cq, h, w, generator=gen, dtype=torch.float64) for _ in range(2))
    v = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64)
    wts = torch.softmax(torch.randn(n, 4, h, w, generator=gen, dtype=torch.float64), 1)
    mask = _mask(kind, n, h, w, gen)
    ref_leaves = [t.clone().requires_grad_() for t in (q, k, v, wts)]
    ref, ref_g = _grads(reference.masked_criss_cross_attention(
        *ref_leaves[:3], mask, ref_leaves[3], 0.7), ref_leaves)
    leaves = [t.to('cuda', dtype).requires_grad_() for t in (q, k, v, wts)]
    out, got = _grads(compiled.masked_criss_cross_attention(
        *leaves[:3], mask.cuda(), leaves[3], 0.7), leaves)
    assert out.dtype == dtype and torch.isfinite(out).all()
    torch.testing.assert_close(out.double().cpu(), ref, atol=tol, rtol=tol)
    for g, r in zip(got, ref_g):
        torch.testing.assert_close(g.double().cpu(), r, atol=tol * 10, rtol=tol * 10)


def test_channels_last_and_determinism_on_cuda():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 16, 33, 47, generator=gen).cuda().contiguous(
        memory_format=torch.channels_last)
    weight = torch.randn(16, 16, 3, 3, generator=gen).cuda()
    mask = (torch.rand(2, 1, 33, 47, generator=gen) > 0.7).float().cuda()
    runs = []
    for _ in range(2):
        xs = x.detach().requires_grad_()
        out = compiled.sparse_conv2d(xs, mask, weight, None, 2)
        cca = compiled.masked_criss_cross_attention(out, out, out, mask,
                                                    torch.ones_like(out[:, :4]))
        runs.append((out, cca, *torch.autograd.grad((cca * cca).sum(), xs)))
    for a, b in zip(*runs):
        assert torch.equal(a, b)
    want = reference.sparse_conv2d(x.cpu(), mask.cpu(), weight.cpu(), None, 2)
    torch.testing.assert_close(runs[0][0].cpu(), want, atol=1e-4, rtol=1e-4)


def test_gradcheck_cuda_float64():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 5, 4, generator=gen, dtype=torch.float64).cuda().requires_grad_()
    weight = torch.randn(2, 3, 3, 3, generator=gen, dtype=torch.float64).cuda().requires_grad_()
    mask = (torch.rand(2, 1, 5, 4, generator=gen) > 0.5).double().cuda()
    assert torch.autograd.gradcheck(lambda a, b: compiled.sparse_conv2d(a, mask, b), (x, weight))
    q, k, v, w = (torch.randn(2, c, 4, 5, generator=gen, dtype=torch.float64).cuda()
                  .requires_grad_() for c in (2, 2, 3, 4))
    m2 = (torch.rand(2, 1, 4, 5, generator=gen) > 0.5).double().cuda()
    assert torch.autograd.gradcheck(
        lambda a, b, c, d: compiled.masked_criss_cross_attention(a, b, c, m2, d), (q, k, v, w))
