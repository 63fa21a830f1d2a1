# SPAIR with a timm encoder in Net_R: a full-resolution conv stem plus the stride-2 and
# stride-4 features of timm's resnet18 (randomly initialised, pretrained=False); SFM
# modulates each encoder level, SC + SNL at every decoder level as in SPAIR.
_base_ = ['./spair.py']

model = dict(netr=dict(encoder=dict(type='TimmEncoder', model_name='resnet18',
                                    stem_channels=32)))
