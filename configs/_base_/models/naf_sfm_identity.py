# The NAF family, + SFM that starts as the identity (SFM(start_as_identity=True): the
# Net_L fusion conv and the eq. (1) blend start at zero, so a fresh model is NAF alone).
# An alternative to naf_sfm.py measured on the ladders (docs/benchmarks.md).
_base_ = ['./naf_sfm.py']

model = dict(netr=dict(sfm=dict(type='SFM', eps=1e-5, start_as_identity=True)))
