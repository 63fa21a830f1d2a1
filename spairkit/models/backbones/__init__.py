"""Encoders and the dense encoder-decoder backbone."""
from .dense_encoder import DenseEncoder
from .dense_encoder_decoder import DenseEncoderDecoder
from .nafnet import NAFBlock, NAFNet, NAFNetBackbone, NAFNetL, NAFNetR
from .timm_encoder import TimmEncoder

__all__ = ['DenseEncoder', 'DenseEncoderDecoder', 'NAFBlock', 'NAFNet', 'NAFNetBackbone',
           'NAFNetL', 'NAFNetR', 'TimmEncoder']
