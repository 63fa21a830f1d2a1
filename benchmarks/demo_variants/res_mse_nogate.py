# The demo's restorer with MSE and without the output gate (the paper's SPAIR output):
# Net_R may also restore the degraded pixels Net_L missed, and may change clean ones.
_base_ = ['./res_mse.py']
model = dict(output_gate=None)
