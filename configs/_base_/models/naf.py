# The NAF family's dense rung: NAFNet alone (no Net_L, no mask, no gate). The baseline
# the mask-guided NAF rungs must beat at equal parameters (docs/benchmarks.md).
_base_ = ['./netl.py']

model = dict(
    stage='restorer',
    with_netl=False,
    netl_checkpoint=None,
    netr=dict(type='NAFNet', width=32, num_levels=3, enc_blocks=[1, 1, 2], dec_blocks=1),
)
