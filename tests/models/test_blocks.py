"""Blocks: the clean-pixel property and tiny hand-computed cases."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from spairkit.models import SFM, DenseBlock, NonLocal, SparseConvBlock, SparseNonLocal
from spairkit.models.blocks.sparse_conv import SparseConv2d
from spairkit.models.mask_metrics import mask_iou_f1
from spairkit.models.padding import crop_to, mask_pyramid, pad_to_multiple

from .helpers import random_mask


@pytest.fixture
def feats():
    torch.manual_seed(0)
    return torch.randn(2, 6, 9, 7), random_mask(2, 9, 7, p=0.4)


# ------------------------------------------------------------- clean-pixel property
def test_sc_block_leaves_clean_pixels_exactly(feats):
    x, m = feats
    out = SparseConvBlock(6, growth=4, num_layers=6)(x, m)
    clean = (m == 0).expand_as(x)
    assert torch.equal(out[clean], x[clean])
    assert not torch.allclose(out[~clean], x[~clean])


def test_snl_block_leaves_clean_pixels_exactly(feats):
    x, m = feats
    for qk in (None, 3):
        out = SparseNonLocal(6, qk_channels=qk)(x, m)
        clean = (m == 0).expand_as(x)
        assert torch.equal(out[clean], x[clean])
        assert not torch.allclose(out[~clean], x[~clean])


def test_sfm_starting_as_identity_passes_its_input_then_learns_both_parts(feats):
    x, m = feats
    guide = torch.randn(2, 3, 9, 7)
    block = SFM(6, guide_channels=3, start_as_identity=True)
    assert torch.equal(block(x, m, guide), x)  # fresh: zero fusion, zero blend
    block(x, m, guide).pow(2).sum().backward()
    assert block.alpha.grad.abs().sum() > 0 and block.proj.weight.grad.abs().sum() > 0
    # With alpha = 1 it is the paper's SFM on the fused feature.
    paper = SFM(6, guide_channels=3)
    with torch.no_grad():
        block.alpha.fill_(1.0)
        block.proj.weight.copy_(paper.proj.weight)
        block.proj.bias.copy_(paper.proj.bias)
    assert torch.allclose(block(x, m, guide), paper(x, m, guide), atol=1e-6)


def test_sfm_keeps_fused_features_at_clean_pixels(feats):
    x, m = feats
    guide = torch.randn(2, 3, 9, 7)
    block = SFM(6, guide_channels=3)
    out = block(x, m, guide)
    fused = x + block.proj(guide)
    clean = (m == 0).expand_as(x)
    assert torch.equal(out[clean], fused[clean])
    # Degraded pixels now carry the clean pixels' per-channel mean.
    deg = m.bool().expand_as(x)
    for i in range(2):
        for c in range(6):
            d = out[i, c][deg[i, c]]
            cl = fused[i, c][clean[i, c]]
            assert d.mean().item() == pytest.approx(cl.mean().item(), abs=1e-5)
            assert d.var(unbiased=False).item() == pytest.approx(
                cl.var(unbiased=False).item(), rel=1e-3)


# --------------------------------------------------------------- hand-computed cases
def test_sparse_conv_sums_only_degraded_neighbours():
    conv = SparseConv2d(1, 1, 3)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.fill_(0.5)
    x = torch.arange(1.0, 10.0).view(1, 1, 3, 3)
    m = torch.tensor([[1., 1., 0.], [0., 1., 0.], [0., 0., 0.]]).view(1, 1, 3, 3)
    out = conv(x, m)
    # Degraded pixels: 1 (value 1), 2 (value 2), centre (value 5).
    expected = torch.zeros(1, 1, 3, 3)
    expected[0, 0, 0, 0] = 1 + 2 + 5 + 0.5
    expected[0, 0, 0, 1] = 1 + 2 + 5 + 0.5
    expected[0, 0, 1, 1] = 1 + 2 + 5 + 0.5
    assert torch.allclose(out, expected)


def test_snl_single_step_hand_case():
    """1x3 row, degraded centre: it gathers its left and right clean neighbours."""
    block = SparseNonLocal(1, num_steps=1)
    with torch.no_grad():  # uniform direction weights: softmax(0) = 1/4 each
        block.steps[0].fusion.weight.zero_()
        block.steps[0].fusion.bias.zero_()
    x = torch.tensor([2.0, 5.0, -1.0]).view(1, 1, 1, 3)
    m = torch.tensor([0.0, 1.0, 0.0]).view(1, 1, 1, 3)
    out = block(x, m)
    # One clean pixel per horizontal ray (softmax of one logit is 1); up/down are empty.
    expected = torch.tensor([2.0, 5.0 + 0.25 * 2.0 + 0.25 * -1.0, -1.0]).view(1, 1, 1, 3)
    assert torch.allclose(out, expected)
    assert block.scale == pytest.approx(1.0)  # 1/sqrt(Cq) with Cq = 1


def test_snl_softmax_over_two_clean_keys():
    block = SparseNonLocal(1, num_steps=1, scale=1.0)
    with torch.no_grad():
        block.steps[0].fusion.weight.zero_()
        block.steps[0].fusion.bias.copy_(torch.tensor([0.0, -1e4, -1e4, -1e4]))  # left only
    x = torch.tensor([1.0, 3.0, 2.0]).view(1, 1, 1, 3)
    m = torch.tensor([0.0, 0.0, 1.0]).view(1, 1, 1, 3)
    out = block(x, m)
    logits = torch.tensor([2.0 * 1.0, 2.0 * 3.0])  # <q(p), k(q)> with q = k = x
    a = torch.softmax(logits, 0)
    assert out[0, 0, 0, 2].item() == pytest.approx(2.0 + (a[0] * 1.0 + a[1] * 3.0).item(),
                                                   rel=1e-5)


def test_sfm_hand_case():
    block = SFM(1, eps=1e-12)
    x = torch.tensor([1.0, 3.0, 10.0, 14.0]).view(1, 1, 1, 4)
    m = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 1, 4)
    # mu_d = 2, sigma_d = 1, mu_c = 12, sigma_c = 2: degraded -> 2 * (f - 2) + 12.
    assert torch.allclose(block(x, m), torch.tensor([10.0, 14.0, 10.0, 14.0]).view(1, 1, 1, 4))


def test_nonlocal_matches_explicit_attention():
    torch.manual_seed(1)
    block = NonLocal(4, inter_channels=2)
    x = torch.randn(1, 4, 3, 5)
    assert torch.allclose(block(x), x)  # zero-initialised output projection: identity
    with torch.no_grad():
        block.out.weight.normal_()
        block.out.bias.normal_()
    th = block.theta(x).flatten(2)[0]  # (C', HW)
    ph = block.phi(x).flatten(2)[0]
    g = block.g(x).flatten(2)[0]
    attn = torch.softmax(th.t() @ ph, dim=-1)  # (HW, HW), embedded Gaussian
    y = (attn @ g.t()).t().reshape(1, 2, 3, 5)
    assert torch.allclose(block(x), x + block.out(y), atol=1e-5)


def test_dense_block_is_densely_connected():
    block = DenseBlock(3, growth=2, num_layers=3)
    assert [layer[0].in_channels for layer in block.layers] == [3, 5, 7]
    assert block.fuse.in_channels == 9
    x = torch.randn(1, 3, 5, 4)
    assert block(x).shape == x.shape


# ------------------------------------------------------------------------ helpers
@pytest.mark.parametrize('size', [(1, 1), (1, 6), (5, 2), (9, 17), (16, 16)])
def test_pad_to_multiple_reflects_and_crops_back(size):
    x = torch.randn(1, 2, *size)
    y, orig = pad_to_multiple(x, 8)
    assert y.shape[-2] % 8 == 0 and y.shape[-1] % 8 == 0
    assert torch.equal(crop_to(y, orig), x)
    if size == (9, 17):  # plain reflection when the side is long enough
        assert torch.equal(y[..., :9, 17], x[..., :, 15])


def test_mask_pyramid_is_max_pooling():
    m = torch.zeros(1, 1, 4, 4)
    m[0, 0, 3, 0] = 1
    pyr = mask_pyramid(m, 3)
    assert [p.shape[-1] for p in pyr] == [4, 2, 1]
    assert torch.equal(pyr[1], torch.tensor([[[[0.0, 0.0], [1.0, 0.0]]]]))
    assert pyr[2].item() == 1.0


def test_mask_iou_f1_hand_case():
    pred = torch.tensor([1, 1, 0, 0]).bool()
    target = torch.tensor([1, 0, 1, 0]).bool()
    iou, f1 = mask_iou_f1(pred, target)
    assert iou.item() == pytest.approx(1 / 3)
    assert f1.item() == pytest.approx(0.5)
    iou, f1 = mask_iou_f1(torch.zeros(4).bool(), torch.zeros(4).bool())
    assert iou.item() == 1.0 and f1.item() == 1.0


def test_snl_default_scale_uses_query_width():
    assert SparseNonLocal(16).scale == pytest.approx(1 / math.sqrt(16))
    assert SparseNonLocal(16, qk_channels=4).scale == pytest.approx(0.5)


def test_nonlocal_sub_sample_on_odd_size():
    block = NonLocal(4, sub_sample=True)
    with torch.no_grad():
        block.out.weight.normal_()
    x = torch.randn(2, 4, 5, 3)
    assert block(x).shape == x.shape
    assert not torch.allclose(block(x), x)
    F.mse_loss(block(x), x).backward()
