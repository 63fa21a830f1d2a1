"""The graph that is exported: one image batch in, the restored batch out."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from spairkit.ops.dense import dense_ops

__all__ = ['RestorerGraph', 'export_mode', 'min_side']


class RestorerGraph(nn.Module):
    """A trained SPAIR restorer as one function: ``image (N, 3, H, W)`` in [0, 1] ->
    restored image, same shape, clamped to [0, 1].

    It is SPAIR's own inference (``forward(mode='tensor')`` then the clamp of
    ``predict``): Net_L, the thresholded mask, Net_R and the optional output gate,
    with the reflect padding to the network stride and the crop back inside the
    graph, so no rule of the model is restated here. Run it (and export it) inside
    :func:`export_mode`, which makes every mask-guided operator and the padding use
    their size-agnostic dense formulations.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        if getattr(model, 'stage', None) != 'restorer' or getattr(model, 'netr', None) is None:
            raise ValueError('RestorerGraph needs a restorer-stage SPAIR model')
        self.model = model.eval()

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image, None, mode='tensor').clamp(0.0, 1.0)


def min_side(model: nn.Module) -> int:
    """The smallest height/width the exported graph accepts: one more than the
    largest network stride, so the coarsest level has at least two pixels (a
    one-pixel level would tie the graph to broadcasting special cases)."""
    inner = model.model if isinstance(model, RestorerGraph) else model
    strides = [int(getattr(net, 'stride', 1)) for net in (inner.netl, inner.netr)
               if net is not None]
    return max(strides) + 1


@contextlib.contextmanager
def export_mode() -> Iterator[None]:
    """Dense-equivalent operators and padding (:func:`spairkit.ops.dense.dense_ops`),
    no autograd: the state in which a :class:`RestorerGraph` is traced."""
    with dense_ops(), torch.no_grad():
        yield
