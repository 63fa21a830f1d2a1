"""Do no harm on clean pixels: blend Net_R's output with its input through the mask."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from spairkit.errors import ConfigError
from spairkit.registry import MODELS


@MODELS.register_module()
class MaskGatedBlend(nn.Module):
    """``out = input + g * (restored - input)`` with ``g`` the (dilated, feathered) mask.

    SPAIR's second goal is to leave clean pixels as they were; a restorer that sees
    every pixel can still change them a little (measured: the demo's clean region
    lost 0.8-1.6 dB). This gate makes the guarantee structural: outside the mask Net_R
    sees, the output *is* the input, so the clean region cannot get worse, and Net_R's
    loss there is constant (it spends its capacity on the degraded pixels).

    What it trades:

    * restoration is capped by the mask's recall: a degraded pixel Net_L misses is
      returned unrestored (the gate turns Net_L's false negatives into residual error);
    * ``dilation`` widens the gate by that many pixels (max-pool), buying back faint
      borders Net_L tends to miss (streak tails, drop rims) at the price of letting
      Net_R touch a band of clean pixels around each region;
    * ``feather`` softens the gate's edge (box filter of that radius after dilation),
      so a hard mask boundary does not leave a seam; 0 keeps a binary gate.

    Args:
        dilation: pixels by which the mask is dilated (>= 0).
        feather: radius of the box filter softening the dilated gate (>= 0).
    """

    def __init__(self, dilation: int = 1, feather: int = 0):
        super().__init__()
        for key, value in (('dilation', dilation), ('feather', feather)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f'MaskGatedBlend.{key} must be an int >= 0, got {value!r}')
        self.dilation = dilation
        self.feather = feather

    def gate(self, mask: torch.Tensor) -> torch.Tensor:
        """The blend weight ``g`` in [0, 1] (N,1,H,W) for a binary mask."""
        g = (mask > 0.5).to(mask.dtype)
        if self.dilation:
            k = 2 * self.dilation + 1
            g = F.max_pool2d(g, k, stride=1, padding=self.dilation)
        if self.feather:
            k = 2 * self.feather + 1
            g = F.avg_pool2d(g, k, stride=1, padding=self.feather, count_include_pad=False)
        return g

    def forward(self, inputs: torch.Tensor, restored: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        if mask.shape[0] != inputs.shape[0] or mask.shape[-2:] != inputs.shape[-2:]:
            raise ValueError(f'mask of shape {tuple(mask.shape)} does not match the images '
                             f'of shape {tuple(inputs.shape)}')
        g = self.gate(mask.to(inputs.dtype))
        return inputs + g * (restored - inputs)
