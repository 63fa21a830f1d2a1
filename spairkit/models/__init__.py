"""SPAIR models: blocks, backbones, Net_L/Net_R, the two-stage model, data preprocessor.

Imported lazily by the MODELS registry (its location); importing it registers every
component below.
"""
from .backbones import DenseEncoder, DenseEncoderDecoder, TimmEncoder
from .blocks import SFM, DenseBlock, NonLocal, SparseConv2d, SparseConvBlock, SparseNonLocal
from .data_preprocessor import RestorationDataPreprocessor
from .networks import NetL, NetR
from .output_gate import MaskGatedBlend
from .spair import SPAIR

__all__ = [
    'DenseBlock', 'DenseEncoder', 'DenseEncoderDecoder', 'MaskGatedBlend', 'NetL', 'NetR',
    'NonLocal', 'RestorationDataPreprocessor', 'SFM', 'SPAIR', 'SparseConv2d', 'SparseConvBlock',
    'SparseNonLocal', 'TimmEncoder',
]
