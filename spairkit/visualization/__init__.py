"""Visual reports: comparison grids and atomic image writing.

Also the lazy location of the VISUALIZERS/VISBACKENDS registries in
docs/architecture.md; spairkit registers no visualizer of its own and uses
MMEngine's ``Visualizer`` with its ``LocalVisBackend``/``TensorboardVisBackend``.
"""
from .grid import DEFAULT_LABELS, make_comparison_grid, stack_rows, to_display_rgb
from .image_files import encode_image, float_to_dtype, mask_to_uint8, write_image_atomic

__all__ = [
    'DEFAULT_LABELS', 'encode_image', 'float_to_dtype', 'make_comparison_grid',
    'mask_to_uint8', 'stack_rows', 'to_display_rgb', 'write_image_atomic',
]
