"""Standard non-local block (Wang et al., CVPR 2018), the NL of SPAIR's Table 6 (Net4)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from spairkit.registry import MODELS


@MODELS.register_module()
class NonLocal(nn.Module):
    """Embedded-Gaussian non-local block: ``z = x + W y``, ``y_i = sum_j softmax_j(
    theta(x_i) . phi(x_j)) g(x_j)`` over all pixels.

    The mask-agnostic baseline SNL is compared with: every pixel, clean or degraded,
    attends to every other pixel. Attention runs through
    :func:`torch.nn.functional.scaled_dot_product_attention` so that memory-efficient
    kernels are used and the ``HW x HW`` matrix is not held when a backend avoids it;
    the cost is still quadratic in ``HW``. ``W`` is zero-initialised (as in the paper
    by Wang et al.), so a freshly built block is the identity.

    Args:
        channels: feature width.
        inter_channels: width of theta/phi/g (default ``channels // 2``).
        sub_sample: 2x2 max-pool keys and values (Wang et al.'s cheaper variant).
        scale: logit scale; the embedded-Gaussian form has none (1.0).
    """

    def __init__(self, channels: int, inter_channels: int | None = None,
                 sub_sample: bool = False, scale: float = 1.0):
        super().__init__()
        inter = inter_channels or max(1, channels // 2)
        self.theta = nn.Conv2d(channels, inter, 1)
        self.phi = nn.Conv2d(channels, inter, 1)
        self.g = nn.Conv2d(channels, inter, 1)
        self.out = nn.Conv2d(inter, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.sub_sample = sub_sample
        self.scale = float(scale)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        n, _, h, w = x.shape
        q = self.theta(x).flatten(2).transpose(1, 2)  # (N, HW, C')
        kv_src = x
        if self.sub_sample and h > 1 and w > 1:
            kv_src = F.max_pool2d(x, 2, ceil_mode=True)
        k = self.phi(kv_src).flatten(2).transpose(1, 2)
        v = self.g(kv_src).flatten(2).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        y = y.transpose(1, 2).reshape(n, -1, h, w)
        return x + self.out(y)
