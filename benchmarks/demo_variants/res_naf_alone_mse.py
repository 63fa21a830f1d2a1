# Dense baseline (NAFNet alone, no Net_L, no gate) trained with MSE instead of L1:
# the dense reference for res_mse.py.
_base_ = ['./res_naf_alone.py']
model = dict(pixel_loss=dict(type='MSELoss'))
