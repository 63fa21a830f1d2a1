"""Tests of the reference operators (spairkit.ops.reference) and the backend dispatch."""
from __future__ import annotations

import math
import subprocess
import sys
import types

import pytest
import torch

import spairkit.ops as ops
from spairkit.errors import ConfigError, UserError
from spairkit.ops import backend, criss_cross, reference

SHAPES = [(2, 5, 7), (2, 1, 6), (2, 6, 1), (1, 1, 1), (3, 4, 4)]


def _masks(n, h, w, seed):
    """A batch of different random masks, with one all-clean and one all-degraded image
    when the batch is large enough."""
    g = torch.Generator().manual_seed(seed)
    m = (torch.rand(n, 1, h, w, generator=g) > 0.5).double()
    if n >= 3:
        m[1] = 0
        m[2] = 1
    return m


def _rand(*shape, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)  # same numbers whatever the dtype
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)


# ------------------------------------------------------------------------ sparse conv
def test_sparse_conv_hand_computed():
    x = torch.arange(1.0, 10.0).view(1, 1, 3, 3)
    mask = torch.eye(3).view(1, 1, 3, 3)
    weight = torch.ones(1, 1, 3, 3)
    out = reference.sparse_conv2d(x, mask, weight, torch.tensor([0.5]))
    expected = torch.tensor([[6.5, 0, 0], [0, 15.5, 0], [0, 0, 14.5]]).view(1, 1, 3, 3)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize('n,h,w', SHAPES)
@pytest.mark.parametrize('k,dilation', [(3, 1), (3, 2), (1, 1), (5, 1)])
def test_sparse_conv_matches_naive(naive, n, h, w, k, dilation):
    x = _rand(n, 3, h, w, seed=1)
    mask = _masks(n, h, w, seed=2)
    weight = _rand(4, 3, k, k, seed=3)
    bias = _rand(4, seed=4)
    out = reference.sparse_conv2d(x, mask, weight, bias, dilation)
    torch.testing.assert_close(out, naive.sparse_conv2d(x, mask, weight, bias, dilation))
    assert torch.all(out[mask.expand_as(out) == 0] == 0)


def test_sparse_conv_empty_mask_is_zero_with_zero_grads():
    x = _rand(2, 2, 4, 5, seed=0).requires_grad_()
    weight = _rand(3, 2, 3, 3, seed=1).requires_grad_()
    bias = _rand(3, seed=2).requires_grad_()
    out = reference.sparse_conv2d(x, torch.zeros(2, 1, 4, 5), weight, bias)
    assert out.shape == (2, 3, 4, 5) and torch.all(out == 0)
    out.sum().backward()
    for t in (x, weight, bias):
        assert t.grad is not None and torch.all(t.grad == 0)


def test_sparse_conv_gradcheck():
    x = _rand(2, 2, 3, 4, seed=0).requires_grad_()
    weight = _rand(2, 2, 3, 3, seed=1).requires_grad_()
    bias = _rand(2, seed=2).requires_grad_()
    mask = _masks(2, 3, 4, seed=3)
    mask[1] = 0  # one image skipped entirely
    assert torch.autograd.gradcheck(
        lambda a, b, c: reference.sparse_conv2d(a, mask, b, c, 2), (x, weight, bias))


# -------------------------------------------------------------- criss-cross attention
def test_criss_cross_hand_computed_row_and_column():
    # One row of 4 pixels; pixel 2 is degraded. Left ray = pixels 1, 0 (clean) with
    # logits ln3, 0 -> softmax 3/4, 1/4; right ray = pixel 3; up/down rays are empty.
    query = torch.tensor([0.0, 0.0, 1.0, 0.0]).view(1, 1, 1, 4)
    key = torch.tensor([0.0, math.log(3.0), 5.0, 2.0]).view(1, 1, 1, 4)
    value = torch.tensor([4.0, 8.0, 100.0, 10.0]).view(1, 1, 1, 4)
    mask = torch.tensor([0.0, 0.0, 1.0, 0.0]).view(1, 1, 1, 4)
    weights = torch.tensor([1.0, 0.5, 7.0, 9.0]).view(1, 4, 1, 1).expand(1, 4, 1, 4)
    out = reference.masked_criss_cross_attention(query, key, value, mask, weights)
    # left: 1/4*4 + 3/4*8 = 7; right: 10 -> 1*7 + 0.5*10 = 12.
    torch.testing.assert_close(out, torch.tensor([0.0, 0.0, 12.0, 0.0]).view(1, 1, 1, 4))

    # The same numbers as a column: now they are the up/down rays (weights 2 and 3).
    def col(t):
        return t.transpose(2, 3)
    weights_col = torch.tensor([7.0, 9.0, 1.0, 0.5]).view(1, 4, 1, 1).expand(1, 4, 4, 1)
    out_col = reference.masked_criss_cross_attention(
        col(query), col(key), col(value), col(mask), weights_col)
    torch.testing.assert_close(out_col, col(torch.tensor([0.0, 0.0, 12.0, 0.0]).view(1, 1, 1, 4)))


def test_criss_cross_skips_degraded_pixels_on_the_ray():
    # Pixel 1 is degraded and sits between pixel 2 and pixel 0: it is not a key, and
    # it does not block pixel 0.
    query = torch.ones(1, 1, 1, 3)
    key = torch.zeros(1, 1, 1, 3)
    value = torch.tensor([5.0, 50.0, 500.0]).view(1, 1, 1, 3)
    mask = torch.tensor([0.0, 1.0, 1.0]).view(1, 1, 1, 3)
    weights = torch.tensor([1.0, 1.0, 1.0, 1.0]).view(1, 4, 1, 1).expand(1, 4, 1, 3)
    out = reference.masked_criss_cross_attention(query, key, value, mask, weights)
    torch.testing.assert_close(out, torch.tensor([0.0, 5.0, 5.0]).view(1, 1, 1, 3))


@pytest.mark.parametrize('n,h,w', SHAPES)
def test_criss_cross_matches_naive(naive, n, h, w):
    query = _rand(n, 3, h, w, seed=10)
    key = _rand(n, 3, h, w, seed=11)
    value = _rand(n, 2, h, w, seed=12)
    weights = torch.softmax(_rand(n, 4, h, w, seed=13), dim=1)
    mask = _masks(n, h, w, seed=14)
    out = reference.masked_criss_cross_attention(query, key, value, mask, weights, scale=0.7)
    expected = naive.criss_cross(query, key, value, mask, weights, scale=0.7)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize('fill', [0.0, 1.0])
def test_criss_cross_empty_and_full_masks_give_zero_without_nan(fill):
    query, key, value = (_rand(2, 3, 4, 5, seed=s).requires_grad_() for s in (1, 2, 3))
    weights = _rand(2, 4, 4, 5, seed=4).requires_grad_()
    mask = torch.full((2, 1, 4, 5), fill)
    out = reference.masked_criss_cross_attention(query, key, value, mask, weights)
    assert torch.all(out == 0)
    out.sum().backward()
    for t in (query, key, value, weights):
        assert t.grad is not None and torch.all(t.grad == 0)


def test_criss_cross_single_clean_pixel():
    # Only (1, 2) is clean: pixels on its row and column see it through exactly one ray
    # (softmax over one key = 1), every other degraded pixel has four empty rays.
    value = _rand(1, 2, 4, 5, seed=0)
    mask = torch.ones(1, 1, 4, 5)
    mask[0, 0, 1, 2] = 0
    weights = torch.arange(1.0, 5.0, dtype=torch.float64).view(1, 4, 1, 1).expand(1, 4, 4, 5)
    q = _rand(1, 3, 4, 5, seed=1).requires_grad_()
    out = reference.masked_criss_cross_attention(q, q, value, mask, weights)
    v = value[0, :, 1, 2]
    expected = torch.zeros_like(value)
    for j in range(5):
        if j != 2:  # left ray (weight 1) for j > 2, right ray (weight 2) for j < 2
            expected[0, :, 1, j] = (1.0 if j > 2 else 2.0) * v
    for i in range(4):
        if i != 1:  # up ray (weight 3) below the clean pixel, down ray (4) above it
            expected[0, :, i, 2] = (3.0 if i > 1 else 4.0) * v
    torch.testing.assert_close(out, expected)
    out.square().sum().backward()
    assert torch.isfinite(q.grad).all()


@pytest.mark.parametrize('chunk_lines', [1, 2, 3])
def test_criss_cross_chunked_equals_unchunked(chunk_lines):
    query, key = _rand(2, 4, 7, 6, seed=1), _rand(2, 4, 7, 6, seed=2)
    value, weights = _rand(2, 3, 7, 6, seed=3), _rand(2, 4, 7, 6, seed=4)
    mask = _masks(2, 7, 6, seed=5)
    mask[1, :, 3] = 0  # a clean row: skipped, and shifts which lines form each chunk
    results = []
    for lines in (None, chunk_lines):  # None: everything in one chunk
        inputs = [t.clone().requires_grad_() for t in (query, key, value, weights)]
        out = reference.masked_criss_cross_attention(
            *inputs[:3], mask, inputs[3], chunk_lines=lines)
        (out * value).sum().backward()  # chunked + autograd recomputes chunks in backward
        results.append([out] + [t.grad for t in inputs])
    for chunked, whole in zip(results[1], results[0]):
        torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-12)


def test_criss_cross_processes_only_degraded_lines_in_bounded_chunks(monkeypatch):
    seen = []
    real = reference._attend_chunk

    def spy(q, *args):
        seen.append(tuple(q.shape))
        return real(q, *args)

    monkeypatch.setattr(criss_cross, '_attend_chunk', spy)  # where the reference lives
    monkeypatch.setattr(criss_cross, 'DEFAULT_CCA_CHUNK_ELEMENTS', 2 * 9 * 9)
    mask = torch.zeros(2, 1, 6, 9)
    mask[0, 0, 1, 3] = mask[0, 0, 4, 3] = mask[1, 0, 2, 7] = 1
    x = _rand(2, 3, 6, 9, seed=0)
    reference.masked_criss_cross_attention(x, x, x, mask, _rand(2, 4, 6, 9, seed=1))
    # Rows: 3 active rows of length 9, at most 2 per chunk; columns: 2 active columns
    # of length 6, and 2 * 9 * 9 // 36 = 4 per chunk.
    assert seen == [(2, 9, 3), (1, 9, 3), (2, 6, 3)]


def test_criss_cross_chunks_keep_little_for_backward():
    """With several chunks, backward recomputes them: the forward keeps far less than
    the whole-image attention it would otherwise hold for autograd."""
    def saved_bytes(chunk_lines):
        total = [0]

        def pack(t):
            total[0] += t.numel() * t.element_size()
            return t

        x = _rand(1, 4, 16, 16, seed=0).requires_grad_()
        mask = _masks(1, 16, 16, seed=1)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            reference.masked_criss_cross_attention(
                x, x, x, mask, _rand(1, 4, 16, 16, seed=2), chunk_lines=chunk_lines)
        return total[0]

    assert saved_bytes(2) * 4 < saved_bytes(None)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_tensors_match_cpu():
    mask = _masks(2, 5, 4, seed=7)
    cpu = _all_ops(torch.float64, mask)
    x = _rand(2, 3, 5, 4, seed=0).cuda()
    w = _rand(2, 3, 3, 3, seed=1).cuda()
    q = _rand(2, 3, 5, 4, seed=2).cuda()
    weights = _rand(2, 4, 5, 4, seed=3).cuda()
    m = mask.cuda()
    gpu = (reference.sparse_conv2d(x, m, w),
           reference.masked_criss_cross_attention(q, q, x, m, weights),
           reference.masked_feature_modulation(x, m))
    for c, g in zip(cpu, gpu):
        assert g.is_cuda
        torch.testing.assert_close(g.cpu(), c)
    with torch.autocast('cuda', dtype=torch.float16):
        half = reference.masked_criss_cross_attention(q.half(), q.half(), x.half(), m,
                                                      weights.half())
    assert half.dtype == torch.float16
    torch.testing.assert_close(half.double().cpu(), cpu[1], rtol=1e-2, atol=1e-2)


def test_criss_cross_gradcheck():
    shape = (2, 2, 3, 4)
    query, key = _rand(*shape, seed=1), _rand(*shape, seed=2)
    value, weights = _rand(2, 2, 3, 4, seed=3), _rand(2, 4, 3, 4, seed=4)
    mask = _masks(2, 3, 4, seed=5)
    mask[0, 0, 0, :2] = torch.tensor([1.0, 0.0])  # ensure a mix in image 0
    inputs = tuple(t.requires_grad_() for t in (query, key, value, weights))
    assert torch.autograd.gradcheck(
        lambda q, k, v, w: reference.masked_criss_cross_attention(
            q, k, v, mask, w, scale=0.5), inputs)


# ------------------------------------------------------------------ feature modulation
def test_feature_modulation_hand_computed():
    feat = torch.tensor([1.0, 3.0, 10.0, 20.0], dtype=torch.float64).view(1, 1, 1, 4)
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 1, 4)
    eps = 1e-5
    # mu_d = 2, var_d = 1, mu_c = 15, var_c = 25.
    ratio = math.sqrt(25 + eps) / math.sqrt(1 + eps)
    expected = torch.tensor([-ratio + 15, ratio + 15, 10.0, 20.0], dtype=torch.float64)
    out = reference.masked_feature_modulation(feat, mask, eps)
    torch.testing.assert_close(out, expected.view(1, 1, 1, 4))


@pytest.mark.parametrize('n,h,w', SHAPES)
def test_feature_modulation_matches_naive(naive, n, h, w):
    feat = _rand(n, 3, h, w, seed=20) * 3 + 1
    mask = _masks(n, h, w, seed=21)
    out = reference.masked_feature_modulation(feat, mask, eps=1e-4)
    torch.testing.assert_close(out, naive.feature_modulation(feat, mask, eps=1e-4))


def test_feature_modulation_passes_images_without_degraded_or_clean_pixels():
    feat = _rand(3, 2, 3, 3, seed=0).requires_grad_()
    mask = torch.zeros(3, 1, 3, 3)
    mask[1] = 1
    mask[2, 0, 0, 0] = 1  # a single degraded pixel: var_d = 0, output mu_c
    out = reference.masked_feature_modulation(feat, mask)
    torch.testing.assert_close(out[:2], feat[:2], rtol=0, atol=0)
    mu_c = feat[2].flatten(1)[:, 1:].mean(dim=1)
    torch.testing.assert_close(out[2, :, 0, 0], mu_c)
    out.sum().backward()
    assert torch.isfinite(feat.grad).all()


def test_feature_modulation_gradcheck():
    feat = _rand(2, 2, 3, 4, seed=0).requires_grad_()
    mask = _masks(2, 3, 4, seed=1)
    assert torch.autograd.gradcheck(
        lambda f: reference.masked_feature_modulation(f, mask, eps=1e-3), (feat,))


# ------------------------------------------------------------------- dtypes and masks
def _all_ops(dtype, mask):
    x = _rand(2, 3, 5, 4, seed=0, dtype=dtype)
    w = _rand(2, 3, 3, 3, seed=1, dtype=dtype)
    q = _rand(2, 3, 5, 4, seed=2, dtype=dtype)
    weights = _rand(2, 4, 5, 4, seed=3, dtype=dtype)
    return (reference.sparse_conv2d(x, mask, w),
            reference.masked_criss_cross_attention(q, q, x, mask, weights),
            reference.masked_feature_modulation(x, mask))


def test_float32_matches_float64_and_keeps_dtype():
    mask = _masks(2, 5, 4, seed=7)
    for o32, o64 in zip(_all_ops(torch.float32, mask), _all_ops(torch.float64, mask)):
        assert o32.dtype == torch.float32 and o64.dtype == torch.float64
        torch.testing.assert_close(o32.double(), o64, rtol=1e-4, atol=1e-4)


def test_bool_and_float_masks_agree():
    mask = _masks(2, 5, 4, seed=7)
    for a, b in zip(_all_ops(torch.float64, mask), _all_ops(torch.float64, mask.bool())):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_autocast_computes_in_float32_and_returns_input_dtype():
    mask = _masks(2, 5, 4, seed=7)
    plain = _all_ops(torch.float32, mask)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        under = _all_ops(torch.float32, mask)
        half = _all_ops(torch.bfloat16, mask)
    for p, u, h in zip(plain, under, half):
        assert u.dtype == torch.float32 and h.dtype == torch.bfloat16
        torch.testing.assert_close(u, p, rtol=0, atol=0)  # no bf16 rounding inside
        assert torch.isfinite(h).all()


# ------------------------------------------------------------------------ validation
@pytest.mark.parametrize('call,match', [
    (lambda: reference.sparse_conv2d(torch.zeros(1, 2, 3, 3), torch.zeros(1, 3, 3),
                                     torch.zeros(1, 2, 3, 3)), 'mask must have shape'),
    (lambda: reference.sparse_conv2d(torch.zeros(1, 2, 3, 3), torch.zeros(1, 1, 3, 3),
                                     torch.zeros(1, 2, 2, 2)), 'odd square kernel'),
    (lambda: reference.sparse_conv2d(torch.zeros(1, 2, 3, 3), torch.zeros(1, 1, 3, 3),
                                     torch.zeros(1, 3, 3, 3)), 'input channels'),
    (lambda: reference.sparse_conv2d(torch.zeros(1, 2, 3, 3), torch.zeros(1, 1, 3, 3),
                                     torch.zeros(1, 2, 3, 3), dilation=0), 'dilation'),
    (lambda: reference.sparse_conv2d(torch.zeros(1, 2, 3, 3, dtype=torch.long),
                                     torch.zeros(1, 1, 3, 3), torch.zeros(1, 2, 3, 3)),
     'x must be a floating-point'),
    (lambda: reference.masked_criss_cross_attention(
        torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 3), torch.zeros(1, 4, 3, 3),
        torch.zeros(1, 1, 3, 3), torch.zeros(1, 3, 3, 3)), 'weights must have shape'),
    (lambda: reference.masked_criss_cross_attention(
        torch.zeros(1, 2, 3, 3), torch.zeros(1, 3, 3, 3), torch.zeros(1, 4, 3, 3),
        torch.zeros(1, 1, 3, 3), torch.zeros(1, 4, 3, 3)), 'key must have the shape'),
    (lambda: reference.masked_criss_cross_attention(
        torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 3), torch.zeros(1, 4, 3, 3),
        torch.zeros(1, 1, 3, 3), torch.zeros(1, 4, 3, 3), chunk_lines=0), 'chunk_lines'),
    (lambda: reference.masked_feature_modulation(torch.zeros(1, 2, 3, 3),
                                                 torch.zeros(1, 1, 3, 3), eps=0), 'eps'),
    (lambda: reference.masked_feature_modulation(torch.zeros(2, 3),
                                                 torch.zeros(1, 1, 3, 3)), 'feat must be 4-D'),
])
def test_invalid_inputs_raise_clear_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------- backend
@pytest.fixture(autouse=True)
def _no_real_compiled_ops(monkeypatch):
    """Keep every test here off the real compiled module: asking it whether a backend
    is available builds the extension (minutes). Tests that need one install a fake."""
    monkeypatch.setitem(sys.modules, 'spairkit.ops.compiled', _fake_compiled(set()))


def _fake_compiled(available):
    """A stand-in for spairkit.ops.compiled that records the calls it receives."""
    module = types.ModuleType('spairkit.ops.compiled')
    module.calls = []
    module.is_available = lambda kind: kind in available

    def sparse_conv2d(*args, plan=None):
        module.calls.append('sparse_conv2d' if plan is None else 'sparse_conv2d+plan')
        return reference.sparse_conv2d(*args)

    def sparse_plan(mask, kernel_size, dilation):
        module.calls.append('sparse_plan')
        return ('plan', kernel_size, dilation)

    def masked_criss_cross_attention(*args):
        module.calls.append('masked_criss_cross_attention')
        return reference.masked_criss_cross_attention(*args)

    module.sparse_conv2d = sparse_conv2d
    module.sparse_plan = sparse_plan
    module.masked_criss_cross_attention = masked_criss_cross_attention
    return module


def _small_inputs():
    x = _rand(1, 2, 3, 3, seed=0)
    mask = _masks(1, 3, 3, seed=1)
    return x, mask, _rand(2, 2, 3, 3, seed=2), _rand(1, 4, 3, 3, seed=3)


def test_missing_compiled_module_means_torch_only(monkeypatch):
    monkeypatch.delenv(backend.BACKEND_ENV_VAR, raising=False)
    monkeypatch.setitem(sys.modules, 'spairkit.ops.compiled', None)  # import -> ImportError
    assert ops.available_backends() == ['torch']
    assert 'cannot be imported' in ops.backend_status()['cpp']
    assert ops.current_backend('cpu') == 'torch'
    x, mask, w, weights = _small_inputs()
    torch.testing.assert_close(ops.sparse_conv2d(x, mask, w),
                               reference.sparse_conv2d(x, mask, w))
    monkeypatch.setenv(backend.BACKEND_ENV_VAR, 'cpp')
    with pytest.raises(backend.BackendUnavailableError, match=r'=cpp.*available here: torch'):
        ops.sparse_conv2d(x, mask, w)
    with pytest.raises(UserError, match='cpp'):
        ops.masked_feature_modulation(x, mask)


def test_invalid_backend_name_is_a_config_error(monkeypatch):
    monkeypatch.setenv(backend.BACKEND_ENV_VAR, 'gpu')
    x, mask, w, _ = _small_inputs()
    with pytest.raises(ConfigError, match=r"'gpu'.*torch, cpp, cuda.*available here: .*torch"):
        ops.sparse_conv2d(x, mask, w)


def test_auto_dispatch_uses_compiled_cpp_and_env_is_read_per_call(monkeypatch):
    fake = _fake_compiled({'cpp'})
    monkeypatch.setitem(sys.modules, 'spairkit.ops.compiled', fake)
    monkeypatch.delenv(backend.BACKEND_ENV_VAR, raising=False)
    x, mask, w, weights = _small_inputs()
    assert 'cpp' in ops.available_backends()
    assert ops.current_backend(torch.device('cpu')) == 'cpp'
    ops.sparse_conv2d(x, mask, w)
    ops.masked_criss_cross_attention(x, x, x, mask, weights)
    ops.masked_feature_modulation(x, mask)  # always the reference
    assert fake.calls == ['sparse_conv2d', 'masked_criss_cross_attention']
    monkeypatch.setenv(backend.BACKEND_ENV_VAR, 'torch')
    ops.sparse_conv2d(x, mask, w)
    assert fake.calls == ['sparse_conv2d', 'masked_criss_cross_attention']
    monkeypatch.setenv(backend.BACKEND_ENV_VAR, 'cuda')  # not available / not for CPU
    with pytest.raises(backend.BackendUnavailableError, match='cuda'):
        ops.sparse_conv2d(x, mask, w)


def test_sparse_plan_is_built_by_the_compiled_backend_and_passed_through(monkeypatch):
    fake = _fake_compiled({'cpp'})
    monkeypatch.setitem(sys.modules, 'spairkit.ops.compiled', fake)
    monkeypatch.delenv(backend.BACKEND_ENV_VAR, raising=False)
    x, mask, w, _ = _small_inputs()
    plan = ops.sparse_plan(mask, 3, 1)
    assert plan == ('plan', 3, 1)
    ops.sparse_conv2d(x, mask, w, plan=plan)
    assert fake.calls == ['sparse_plan', 'sparse_conv2d+plan']
    monkeypatch.setenv(backend.BACKEND_ENV_VAR, 'torch')  # the reference needs no plan
    assert ops.sparse_plan(mask, 3, 1) is None
    assert torch.equal(ops.sparse_conv2d(x, mask, w, plan=None),
                       reference.sparse_conv2d(x, mask, w))


def test_forced_backend_must_match_device(monkeypatch):
    fake = _fake_compiled({'cpp', 'cuda'})
    monkeypatch.setitem(sys.modules, 'spairkit.ops.compiled', fake)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setenv(backend.BACKEND_ENV_VAR, 'cuda')
    with pytest.raises(backend.BackendUnavailableError, match='runs on cuda tensors'):
        ops.current_backend('cpu')
    assert ops.current_backend('cuda') == 'cuda'
    monkeypatch.setenv(backend.BACKEND_ENV_VAR, 'cpp')
    with pytest.raises(backend.BackendUnavailableError, match='runs on cpu tensors'):
        ops.current_backend('cuda')


def test_public_functions_validate_before_dispatch(torch_backend):
    with pytest.raises(ValueError, match='mask must have shape'):
        ops.masked_criss_cross_attention(*(torch.zeros(1, 2, 3, 3),) * 3,
                                         torch.zeros(1, 1, 3, 4), torch.zeros(1, 4, 3, 3))


def test_importing_ops_loads_no_compiled_code():
    code = ('import sys, spairkit.ops; '
            'assert "spairkit.ops.compiled" not in sys.modules, "compiled imported"')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
