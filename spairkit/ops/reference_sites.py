"""The pure-PyTorch oracle of the compact site operators, under its former names.

Defined in :mod:`spairkit.ops.sites` (``reference_*``), next to the rest of the family.
"""
from __future__ import annotations

from spairkit.ops.sites import reference_gather_sites as gather_sites
from spairkit.ops.sites import reference_halo_conv2d as halo_conv2d
from spairkit.ops.sites import reference_scatter_sites as scatter_sites
from spairkit.ops.sites import reference_site_conv2d as site_conv2d
from spairkit.ops.sites import reference_site_criss_cross as site_criss_cross

__all__ = ['gather_sites', 'halo_conv2d', 'scatter_sites', 'site_conv2d', 'site_criss_cross']
