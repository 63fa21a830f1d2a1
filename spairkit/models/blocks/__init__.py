"""Registered building blocks: dense, SFM, SC, SNL and the standard non-local block.

Every decoder block shares the call ``block(x, mask) -> x'`` (same shape), so a block
registered by a user can be placed at any decoder level by config.
"""
from .dense import DenseBlock
from .nonlocal_block import NonLocal
from .sfm import SFM
from .sparse_conv import SparseConv2d, SparseConvBlock
from .sparse_nonlocal import SparseNonLocal

__all__ = ['DenseBlock', 'NonLocal', 'SFM', 'SparseConv2d', 'SparseConvBlock', 'SparseNonLocal']
