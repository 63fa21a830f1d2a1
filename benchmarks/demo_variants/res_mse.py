# The demo's restorer with the pixel loss MSE instead of L1: on raindrops and motion
# blur, where most pixels inside the gate are (nearly) clean, the L1 optimum for a
# pixel the restorer cannot yet predict is its median, the input, and the restorer
# learns the identity; MSE's optimum is the mean, which moves.
_base_ = ['spairkit::demo/demo_restorer.py']
model = dict(pixel_loss=dict(type='MSELoss'))
