"""Training losses as registered components (``spairkit.registry.LOSSES``).

``SPAIR(pixel_loss=..., mask_loss=...)`` builds them from config. Two contracts:

* pixel losses (Net_R): ``loss(pred, target, mask)`` on ``N,C,H,W`` images, where
  ``mask`` is the ground-truth degradation mask ``N,1,H,W`` (only the region-weighted
  loss reads it; ``requires_mask`` says whether the caller has to supply it);
* mask losses (Net_L): ``loss(logits, target)`` on ``N,1,H,W`` logits against the
  binary ground-truth mask.

Every loss has a ``loss_name`` (the key it is logged under; MMEngine sums the keys
that contain ``loss``) and a ``loss_weight``. Imported lazily by the LOSSES registry.
"""
from .composite import SumOfLosses
from .mask import BCELoss, DiceLoss, FocalLoss
from .pixel import CharbonnierLoss, L1Loss, MSELoss, RegionWeightedPixelLoss

__all__ = ['BCELoss', 'CharbonnierLoss', 'DiceLoss', 'FocalLoss', 'L1Loss', 'MSELoss',
           'RegionWeightedPixelLoss', 'SumOfLosses']
