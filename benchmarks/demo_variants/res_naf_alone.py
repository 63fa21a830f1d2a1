# Dense baseline: NAFNet alone (no Net_L, no mask, no gate), 32 channels, trained like
# the demo's restorer (same data, crops, batch, schedule, iterations).
_base_ = ['spairkit::demo/demo_restorer.py']
model = dict(with_netl=False, output_gate=None, netl_checkpoint=None,
             netr=dict(_delete_=True, type='NAFNet', width=32, num_levels=3,
                       enc_blocks=[1, 1, 2], dec_blocks=1))
