"""spairkit: spatially-adaptive image restoration (SPAIR) on MMEngine.

Importing ``spairkit`` is cheap: it registers nothing, compiles nothing and
imports no component. Components are imported lazily by the registries in
:mod:`spairkit.registry` the first time one is looked up.
"""
__version__ = '0.1.0'

__all__ = ['__version__']
