"""``torch.compile`` traces SPAIR's Net_R through the compiled operators in one graph.

The operators are ``torch.library`` custom ops (``torch.ops.spairkit.*``), so Dynamo
records them instead of breaking the graph. The active-site plan has data-dependent
sizes, declared as unbacked sizes by its fake function; Dynamo traces such ops when
``capture_dynamic_output_shape_ops`` is on (scoped here with ``config.patch``, never
set globally). ``aot_eager`` keeps the test fast: it runs Dynamo and AOTAutograd (the
graph capture, fake tensors, functionalisation) without Inductor's code generation;
the Inductor speed is measured by ``benchmarks/torch_compile.py``.
"""
from __future__ import annotations

import pytest
import torch

from spairkit.ops import compiled

pytestmark = pytest.mark.skipif(not compiled.is_available('cpp'),
                                reason='compiled C++ ops not available')


def _netr_and_inputs(size=(40, 56)):
    from spairkit.config import load_config
    from spairkit.registry import MODELS

    torch.manual_seed(0)
    cfg = load_config('spairkit::demo/demo_restorer.py')
    model = MODELS.build(cfg.model).eval()
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        _, feats = model.netl(x)
    gen = torch.Generator().manual_seed(1)
    masks = [torch.rand(2, 1, *size, generator=gen) < d for d in (0.1, 0.3)]
    masks[1][1] = False  # one image without a degraded pixel
    return model.netr, x, [m.float() for m in masks], feats


def test_netr_compiles_fullgraph_and_matches_eager(monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'cpp')
    netr, x, masks, feats = _netr_and_inputs()
    torch._dynamo.reset()
    with torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True), torch.no_grad():
        explained = torch._dynamo.explain(netr)(x, masks[0], feats)
        assert explained.graph_break_count == 0, explained.break_reasons
        assert explained.graph_count == 1
        compiled_netr = torch.compile(netr, fullgraph=True, backend='aot_eager')
        for mask in masks:  # a second mask: other site counts, same graph
            out = compiled_netr(x, mask, feats)
            torch.testing.assert_close(out, netr(x, mask, feats), atol=1e-5, rtol=0)
    torch._dynamo.reset()


def test_graph_records_the_library_ops(monkeypatch):
    monkeypatch.setenv('SPAIRKIT_OPS_BACKEND', 'cpp')
    netr, x, masks, feats = _netr_and_inputs((24, 24))
    seen: set[str] = set()

    def backend(gm, example_inputs):
        for node in gm.graph.nodes:
            if node.op == 'call_function' and 'spairkit' in str(node.target):
                seen.add(str(node.target).split('.')[1])
        return gm.forward

    torch._dynamo.reset()
    with torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True), torch.no_grad():
        torch.compile(netr, fullgraph=True, backend=backend)(x, masks[0], feats)
    torch._dynamo.reset()
    assert {'site_plan', 'gather_sites', 'scatter_sites'} <= seen, seen
