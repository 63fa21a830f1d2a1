# res_patch64 with an undilated gate and clean pixels weighted 4x in the L1 loss.
_base_ = ['./res_patch64_gate0.py']
model = dict(pixel_loss=dict(type='RegionWeightedPixelLoss', criterion='l1',
                             clean_weight=4.0))
