# The demo's restorer with the ladder's best guided NAF rung (NAF+SFM: no SC, no SNL),
# width 28 so that Net_R matches the demo's DED SPAIR Net_R (310k vs 315k parameters);
# same Net_L, gate, data, crops, batch, schedule and iterations as the demo.
_base_ = ['spairkit::demo/demo_restorer.py']
model = dict(netr=dict(_delete_=True, type='NAFNetR', width=28, num_levels=3,
                       enc_blocks=[1, 1, 2], dec_blocks=1, sfm=dict(type='SFM'),
                       decoder_blocks=[]))
