"""Encoders and the dense encoder-decoder backbone."""
from .dense_encoder import DenseEncoder
from .dense_encoder_decoder import DenseEncoderDecoder
from .timm_encoder import TimmEncoder

__all__ = ['DenseEncoder', 'DenseEncoderDecoder', 'TimmEncoder']
