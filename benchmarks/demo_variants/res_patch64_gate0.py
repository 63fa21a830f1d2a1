# res_patch64 with an undilated gate.
_base_ = ['./res_patch64.py']
model = dict(output_gate=dict(type='MaskGatedBlend', dilation=0))
