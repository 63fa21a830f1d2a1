"""Reading images for restoration exactly as they are displayed: gray, RGB or RGBA, 8 or 16 bit.

The reader itself is :func:`spairkit.datasets.image_io.read_image_unchanged`, the one
reader of every image spairkit reads (header-size check before decoding, EXIF
orientation, multi-frame files refused); this module is its place in the public API.
The training datasets use the same reader and then drop alpha and expand gray to RGB;
``restore`` keeps the channel layout and the bit depth.
"""
from __future__ import annotations

from spairkit.datasets.image_io import read_header, read_image_unchanged

__all__ = ['read_header', 'read_image_unchanged']
