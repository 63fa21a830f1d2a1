"""The synthesiser contract (``DEGRADATIONS``) and task-agnostic compositions.

Task-specific synthesisers live in their plugins (``spairkit.plugins.<task>.synthesis``
for the built-in ones); this package holds what every synthesiser shares.
"""
from .base import (
    MASK_MODES,
    Degradation,
    difference_map,
    dtype_max,
    from_float,
    mask_from_difference,
    to_float,
)
from .compose import RandomChoiceDegradation, SequentialDegradation, build_degradation
from .fields import filter_reflect, gaussian_blur, line_kernel, random_polygon, smooth_field

__all__ = [
    'MASK_MODES', 'Degradation', 'difference_map', 'dtype_max', 'from_float',
    'mask_from_difference', 'to_float', 'RandomChoiceDegradation', 'SequentialDegradation',
    'build_degradation', 'filter_reflect', 'gaussian_blur', 'line_kernel', 'random_polygon',
    'smooth_field',
]
