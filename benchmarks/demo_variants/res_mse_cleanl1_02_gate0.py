# The raindrop demo's restorer (MSE + 0.2 x clean-pixel L1) with the gate undilated:
# fewer clean pixels around each drop inside the gate, at the price of drop rims Net_L
# misses.
_base_ = ['./res_mse_cleanl1_02.py']
model = dict(output_gate=dict(dilation=0))
