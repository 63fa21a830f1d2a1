"""The compact (site-list) path: plan, compiled kernels vs the PyTorch oracle, blocks.

Compiled forward and backward against the ``reference_*`` oracle of
:mod:`spairkit.ops.sites` (gradcheck in float64 on tiny sizes), odd sizes, several
images with different masks, empty and full masks; the compiled plan builder against
the tensor-operation one; SC and SNL on the compact path against their full-map
formulation (``dense_forward``).
"""
from __future__ import annotations

import pytest
import torch
from mmengine.registry import DefaultScope

from spairkit.ops import compiled, masked_feature_modulation, sites
from spairkit.ops.feature_modulation import (
    reference_masked_feature_modulation,
    site_feature_modulation,
)
from spairkit.registry import MODELS

pytestmark = pytest.mark.skipif(not compiled.is_available('cpp'),
                                reason='compiled C++ ops not available')


def _masks(kind: str, n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    if kind == 'empty':
        return torch.zeros(n, 1, h, w)
    if kind == 'full':
        return torch.ones(n, 1, h, w)
    # Different density per image, one image may have no degraded pixel at all.
    dens = [0.35, 0.0, 0.6][:n]
    return torch.stack([(torch.rand(1, h, w, generator=gen) < d).float() for d in dens])


@pytest.mark.parametrize('kind', ['mixed', 'empty', 'full'])
def test_compiled_plan_equals_tensor_op_plan(kind, monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'cpp')
    mask = _masks(kind, 3, 9, 11)
    a, b = sites.site_plan(mask), sites.reference_site_plan(mask)
    for x, y in [(a.active, b.active), (a.row_of, b.row_of), (a.nbr, b.nbr),
                 *zip(a.rows, b.rows), *zip(a.cols, b.cols)]:
        assert torch.equal(x, y)


def _inputs(plan, c=3, cq=2, seed=1):
    gen = torch.Generator().manual_seed(seed)
    n, h, w = plan.shape
    p = plan.num_sites
    rnd = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64)  # noqa: E731
    return (rnd(p, cq), rnd(n, cq, h, w), rnd(n, c, h, w), torch.rand(p, 4, generator=gen,
                                                                      dtype=torch.float64))


def _run(backend, fn, tensors, monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', backend)
    leaves = [t.clone().requires_grad_() for t in tensors]
    out = fn(*leaves)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    (out * weights).sum().backward()
    return out, [t.grad for t in leaves]


@pytest.mark.parametrize('kind', ['mixed', 'empty', 'full'])
def test_site_criss_cross_compiled_matches_reference(kind, monkeypatch):
    plan = sites.reference_site_plan(_masks(kind, 3, 7, 9))
    fn = lambda q, k, v, w: sites.site_criss_cross(q, k, v, w, plan, 0.7)  # noqa: E731
    ref, ref_g = _run('torch', fn, _inputs(plan), monkeypatch)
    out, g = _run('cpp', fn, _inputs(plan), monkeypatch)
    torch.testing.assert_close(out, ref)
    for a, b in zip(g, ref_g):
        torch.testing.assert_close(a, b)


def test_site_criss_cross_shared_key_value_and_gradcheck(monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'cpp')
    plan = sites.site_plan(_masks('mixed', 2, 5, 6, seed=4))
    q, x, _, w = _inputs(plan, c=2, cq=2)
    fn = lambda q, x, w: sites.site_criss_cross(q, x, x, w, plan, 0.9)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (q.requires_grad_(), x.requires_grad_(),
                                         w.requires_grad_()))


@pytest.mark.parametrize('backend_name', ['torch', 'cpp'])
@pytest.mark.parametrize('kind', ['mixed', 'empty', 'full', 'one_clean', 'one_degraded'])
def test_compact_feature_modulation_equals_the_reference(kind, backend_name, monkeypatch):
    """site_feature_modulation (the SFM block's path for sparse masks): forward and
    backward equal the reference on odd sizes, images with different masks (one
    without degraded pixels), empty / full masks and single-pixel regions."""
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', backend_name)
    n, h, w = 3, 5, 7  # gradcheck perturbs every input: kept small
    mask = {'mixed': _masks('mixed', n, h, w, seed=5), 'empty': torch.zeros(n, 1, h, w),
            'full': torch.ones(n, 1, h, w)}.get(kind)
    if mask is None:  # one image with a single clean (or degraded) pixel
        mask = torch.full((n, 1, h, w), 1.0 if kind == 'one_clean' else 0.0)
        mask[1, 0, 3, 4] = 1.0 - mask[1, 0, 3, 4]
    mask[0] = 0  # an image without degraded pixels passes through
    plan = sites.site_plan(mask)
    gen = torch.Generator().manual_seed(22)
    feat = (torch.randn(n, 2, h, w, dtype=torch.float64, generator=gen) * 3 + 2).requires_grad_()
    out = site_feature_modulation(feat, plan, eps=1e-3)
    ref = reference_masked_feature_modulation(feat, mask, eps=1e-3)
    torch.testing.assert_close(out, ref)
    assert torch.equal(out[0], feat[0])
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    grad, = torch.autograd.grad((out * weights).sum(), feat)
    ref_grad, = torch.autograd.grad((ref * weights).sum(), feat)
    torch.testing.assert_close(grad, ref_grad)
    assert torch.autograd.gradcheck(lambda f: site_feature_modulation(f, plan, eps=1e-3),
                                    (feat,))
    # The public operator takes the compact form only for sparse masks.
    torch.testing.assert_close(masked_feature_modulation(feat, mask, 1e-3, plan=plan), ref)


def test_compact_feature_modulation_in_float32_is_as_close_to_float64_as_the_reference():
    mask = (torch.rand(2, 1, 33, 47, generator=torch.Generator().manual_seed(3)) < 0.1).float()
    gen = torch.Generator().manual_seed(9)
    feat = torch.randn(2, 8, 33, 47, dtype=torch.float64, generator=gen) * 0.5 + 4  # far from 0
    truth = reference_masked_feature_modulation(feat, mask)
    ref32 = reference_masked_feature_modulation(feat.float(), mask)
    out32 = site_feature_modulation(feat.float(), sites.site_plan(mask))
    assert out32.dtype == torch.float32
    ref_err = (ref32.double() - truth).abs().max()
    assert (out32.double() - truth).abs().max() <= 4 * ref_err + 1e-6


@pytest.mark.parametrize('op', ['site_conv', 'halo_conv', 'gather_scatter'])
@pytest.mark.parametrize('kind', ['mixed', 'empty', 'full'])
def test_site_convs_and_scatter_compiled_match_reference(op, kind, monkeypatch):
    plan = sites.reference_site_plan(_masks(kind, 3, 7, 9))
    gen = torch.Generator().manual_seed(2)
    n, h, w = plan.shape
    rows = torch.randn(plan.num_sites, 3, generator=gen, dtype=torch.float64)
    dense = torch.randn(n, 3, h, w, generator=gen, dtype=torch.float64)
    weight = torch.randn(4, 3, 3, 3, generator=gen, dtype=torch.float64)
    bias = torch.randn(4, generator=gen, dtype=torch.float64)
    fns = {'site_conv': lambda r, d, wt, b: sites.site_conv2d(r, wt, b, plan) + 0 * d.sum(),
           'halo_conv': lambda r, d, wt, b: sites.halo_conv2d(r, d, wt, b, plan),
           'gather_scatter': lambda r, d, wt, b: sites.scatter_sites(
               d * 2, r, plan) + sites.gather_sites(d, plan).sum() + 0 * (wt.sum() + b.sum())}
    args = (rows, dense, weight, bias)
    ref, ref_g = _run('torch', fns[op], args, monkeypatch)
    out, g = _run('cpp', fns[op], args, monkeypatch)
    torch.testing.assert_close(out, ref)
    for a, b in zip(g, ref_g):
        torch.testing.assert_close(a, b)
    if kind == 'mixed':
        monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'cpp')
        leaves = tuple(t.detach().clone().requires_grad_() for t in args)
        assert torch.autograd.gradcheck(fns[op], leaves)


@pytest.mark.parametrize('block_cfg', [dict(type='SparseConvBlock', growth=3, num_layers=2),
                                       dict(type='SparseNonLocal'),
                                       dict(type='SparseNonLocal', qk_channels=3)])
@pytest.mark.parametrize('backend', ['cpp', 'torch'])
@pytest.mark.parametrize('kind', ['mixed', 'empty', 'full'])
def test_blocks_on_sites_equal_their_full_map_formulation(block_cfg, backend, kind,
                                                          monkeypatch):
    with DefaultScope.overwrite_default_scope('spairkit'):
        block = MODELS.build(dict(block_cfg, channels=4)).double()
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(3, 4, 7, 9, generator=gen, dtype=torch.float64)
    mask = _masks(kind, 3, 7, 9)
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'torch')
    xr = x.clone().requires_grad_()
    ref = block.dense_forward(xr, mask)
    ref.square().sum().backward()
    ref_param = [p.grad.clone() for p in block.parameters()]
    block.zero_grad()
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', backend)
    xs = x.clone().requires_grad_()
    out = block(xs, mask)
    out.square().sum().backward()
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(xs.grad, xr.grad, atol=1e-10, rtol=1e-10)
    for p, g in zip(block.parameters(), ref_param):
        assert p.grad is not None  # every parameter in the graph, also for an empty mask
        torch.testing.assert_close(p.grad, g, atol=1e-10, rtol=1e-10)


def test_netr_forward_on_sites_equals_the_full_map_formulation(monkeypatch):
    """Fixed-seed SPAIR Net_R (SC + SNL at every level, odd size, two images with
    different masks): the compact path equals the blocks' previous full-map
    formulation within 1e-5."""
    from spairkit.models.backbones import dense_encoder_decoder as ded

    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('spairkit'):
        net = MODELS.build(dict(type='NetR', base_channels=8, growth=4)).eval()
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 21, 26, generator=gen)
    mask = torch.stack([(torch.rand(1, 21, 26, generator=gen) < d).float() for d in (0.1, 0.4)])
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'cpp')
    with torch.no_grad():
        compact = net(x, mask)

        def dense_blocks(blocks, y, level_mask, plan):
            for block in blocks:
                y = block.dense_forward(y, level_mask)
            return y

        monkeypatch.setattr(ded, 'run_blocks', dense_blocks)
        full_map = net(x, mask)
    torch.testing.assert_close(compact, full_map, atol=1e-5, rtol=0)
