# The demo's restorer with MSE everywhere plus 0.05 x L1 on the clean pixels of the
# ground-truth mask: MSE moves the degraded pixels off the identity (where L1's
# median optimum keeps them), the L1 term asks the clean ones to stay exactly as they
# were (a pull of 0.05 per pixel, like MSE's at an error of 0.05 / 2).
_base_ = ['spairkit::demo/demo_restorer.py']
model = dict(pixel_loss=dict(
    type='SumOfLosses', loss_name='loss_pixel',
    losses=[dict(type='MSELoss'),
            dict(type='RegionWeightedPixelLoss', criterion='l1', degraded_weight=0.0,
                 clean_weight=1.0, loss_weight=0.05)]))
