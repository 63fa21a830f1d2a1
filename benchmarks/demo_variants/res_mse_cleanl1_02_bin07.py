# The raindrop demo's restorer (MSE + 0.2 x clean-pixel L1) with Net_R's mask at
# Net_L probability > 0.7 instead of 0.5: a tighter gate (higher precision, lower
# recall).
_base_ = ['./res_mse_cleanl1_02.py']
model = dict(binarize_threshold=0.7)
