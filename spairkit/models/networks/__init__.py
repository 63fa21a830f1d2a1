"""Net_L (localization) and Net_R (restoration)."""
from .net_l import NetL
from .net_r import NetR

__all__ = ['NetL', 'NetR']
