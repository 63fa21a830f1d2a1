"""The compiled operators as ``torch.library`` custom ops (``torch.ops.spairkit.*``).

:func:`torch.library.opcheck` on CPU for every registered op (schema, autograd
registration, fake/shape function against the real kernel, AOT dispatch with dynamic
shapes), on small odd sizes, several images with different masks, and empty and full
masks; that registration happens when a build is loaded (not at import) and only
once; and that the registered ops are what the public operators call.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from spairkit.ops import compiled, reference, sites

pytestmark = pytest.mark.skipif(not compiled.is_available('cpp'),
                                reason='compiled C++ ops not available')

OPS = torch.ops.spairkit
MASKS = ('mixed', 'empty', 'full')
#: The ops each parametrised test below checks; test_every_registered_op_is_checked
#: compares it with what torch.library holds.
CHECKED = {'sparse_plan', 'sparse_conv_forward', 'sparse_conv_backward', 'cca_forward',
           'cca_backward', 'site_plan', 'gather_sites', 'scatter_sites', 'scatter_sites_zero',
           'site_conv_forward', 'site_conv_backward', 'halo_cols', 'halo_cols_backward',
           'cca_sites_forward', 'cca_sites_backward'}


def _mask(kind: str, n: int = 3, h: int = 5, w: int = 7, seed: int = 0) -> torch.Tensor:
    """Bool (N, 1, H, W): 'mixed' gives each image its own density, one of them 0."""
    if kind == 'empty':
        return torch.zeros(n, 1, h, w, dtype=torch.bool)
    if kind == 'full':
        return torch.ones(n, 1, h, w, dtype=torch.bool)
    gen = torch.Generator().manual_seed(seed)
    dens = torch.tensor([0.4, 0.0, 0.7][:n]).view(n, 1, 1, 1)
    return torch.rand(n, 1, h, w, generator=gen) < dens


def _rand(*shape, seed: int = 0, grad: bool = True) -> torch.Tensor:
    t = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return t.requires_grad_(grad)


def _opcheck(op, *args) -> None:
    result = torch.library.opcheck(op, args, raise_exception=False)
    assert all(v == 'SUCCESS' for v in result.values()), result


def test_every_registered_op_is_checked():
    names = {name.split('::', 1)[1] for name in torch._C._dispatch_get_all_op_names()
             if name.startswith('spairkit::')}
    assert names == CHECKED


def test_registration_is_lazy_and_once():
    code = ('import torch, spairkit.ops, spairkit.ops.compiled as c\n'
            'assert not hasattr(torch.ops.spairkit, "site_plan"), "registered at import"\n'
            'c.load("cpp"); c.register_ops(); c.register_ops()\n'
            'assert hasattr(torch.ops.spairkit, "site_plan")\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------ sparse conv
@pytest.mark.parametrize('kind', MASKS)
@pytest.mark.parametrize('dilation', [1, 2])
def test_sparse_conv_ops(kind, dilation):
    mask = _mask(kind)
    _opcheck(OPS.sparse_plan, mask, 3, dilation)
    active, nbr = OPS.sparse_plan(mask, 3, dilation)
    n, _, h, w = mask.shape
    x, weight, bias = _rand(n, 3, h, w, seed=1), _rand(4, 3, 3, 3, seed=2), _rand(4, seed=3)
    _opcheck(OPS.sparse_conv_forward, x, weight, bias, active, nbr, dilation)
    _opcheck(OPS.sparse_conv_forward, x, weight, None, active, nbr, dilation)
    out, saved = OPS.sparse_conv_forward(x.detach(), weight.detach(), bias.detach(), active,
                                         nbr, dilation)
    if active.shape[0] == mask.numel():  # full: the kernels' backward reads x itself
        saved = x.detach()
    grad = _rand(*out.shape, seed=4, grad=False)
    for need in [(True, True, True), (True, False, False), (False, True, False)]:
        _opcheck(OPS.sparse_conv_backward, grad, saved, weight.detach(), active, nbr,
                 dilation, *need)


def test_sparse_conv_op_matches_reference():
    mask = _mask('mixed')
    x, weight, bias = _rand(3, 3, 5, 7, seed=1), _rand(4, 3, 3, 3, seed=2), _rand(4, seed=3)
    got = compiled.sparse_conv2d(x, mask, weight, bias)
    torch.testing.assert_close(got, reference.sparse_conv2d(x, mask, weight, bias))
    gx, gw, gb = torch.autograd.grad(got.square().sum(), (x, weight, bias))
    want = torch.autograd.grad(reference.sparse_conv2d(x, mask, weight, bias).square().sum(),
                               (x, weight, bias))
    for a, b in zip((gx, gw, gb), want):
        torch.testing.assert_close(a, b)


# ---------------------------------------------------------- criss-cross attention
@pytest.mark.parametrize('kind', MASKS)
def test_criss_cross_ops(kind):
    mask = _mask(kind)
    n, _, h, w = mask.shape
    q, k, v = _rand(n, 2, h, w, seed=1), _rand(n, 2, h, w, seed=2), _rand(n, 3, h, w, seed=3)
    weights = torch.softmax(_rand(n, 4, h, w, seed=4, grad=False), 1).requires_grad_()
    _opcheck(OPS.cca_forward, q, k, v, mask, weights, 0.7)
    out, stats = OPS.cca_forward(q.detach(), k.detach(), v.detach(), mask, weights.detach(),
                                 0.7)
    grad = _rand(*out.shape, seed=5, grad=False)
    _opcheck(OPS.cca_backward, grad, q.detach(), k.detach(), v.detach(), mask,
             weights.detach(), 0.7, stats)


# ------------------------------------------------------------------ compact path
def _plan(kind: str) -> sites.SitePlan:
    return sites.site_plan(_mask(kind).float(), 3, 1)


@pytest.mark.parametrize('kind', MASKS)
def test_site_plan_op(kind, monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'cpp')
    _opcheck(OPS.site_plan, _mask(kind), 3, 1)
    _opcheck(OPS.site_plan, _mask(kind), 5, 2)


@pytest.mark.parametrize('kind', MASKS)
def test_gather_scatter_ops(kind, monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'cpp')
    plan = _plan(kind)
    n, h, w = plan.shape
    dense, rows = _rand(n, 3, h, w, seed=1), _rand(plan.num_sites, 3, seed=2)
    _opcheck(OPS.gather_sites, dense, plan.active)
    _opcheck(OPS.scatter_sites, dense, rows, plan.active)
    _opcheck(OPS.scatter_sites_zero, rows.detach(), plan.active, n, h, w)


@pytest.mark.parametrize('kind', MASKS)
def test_site_conv_ops(kind, monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'cpp')
    plan = _plan(kind)
    rows, weight, bias = _rand(plan.num_sites, 3, seed=1), _rand(4, 3, 3, 3, seed=2), \
        _rand(4, seed=3)
    _opcheck(OPS.site_conv_forward, rows, weight, bias, plan.nbr)
    _opcheck(OPS.site_conv_forward, rows, weight, None, plan.nbr)
    grad = _rand(plan.num_sites, 4, seed=4, grad=False)
    for need in [(True, True, True), (False, True, False), (True, False, True)]:
        _opcheck(OPS.site_conv_backward, grad, rows.detach(), weight.detach(), plan.nbr, *need)


@pytest.mark.parametrize('kind', MASKS)
def test_halo_ops(kind, monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'cpp')
    plan = _plan(kind)
    n, h, w = plan.shape
    rows, dense = _rand(plan.num_sites, 3, seed=1), _rand(n, 3, h, w, seed=2)
    _opcheck(OPS.halo_cols, rows, dense, plan.active, plan.nbr, plan.row_of, 3, 1)
    gcols = _rand(plan.num_sites, 27, seed=3, grad=False)
    _opcheck(OPS.halo_cols_backward, gcols, plan.active, plan.nbr, plan.row_of, n, 3, h, w,
             3, 1)


@pytest.mark.parametrize('kind', MASKS)
@pytest.mark.parametrize('shared', [False, True])
def test_site_criss_cross_ops(kind, shared, monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'cpp')
    plan = _plan(kind)
    n, h, w = plan.shape
    lists = [*plan.rows, *plan.cols]
    value = _rand(n, 3, h, w, seed=2)
    key = value if shared else _rand(n, 3, h, w, seed=3)  # SNL passes one map as both
    q_rows = _rand(plan.num_sites, 3, seed=1)
    w_rows = torch.softmax(_rand(plan.num_sites, 4, seed=4, grad=False), 1).requires_grad_()
    _opcheck(OPS.cca_sites_forward, q_rows, key, value, w_rows, lists, 0.8)
    grad = _rand(plan.num_sites, 3, seed=5, grad=False)
    v_d = value.detach()
    k_d = v_d if shared else key.detach()
    _opcheck(OPS.cca_sites_backward, grad, q_rows.detach(), k_d, v_d, w_rows.detach(), lists,
             0.8)
