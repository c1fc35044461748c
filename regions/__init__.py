"""Brain regions: one module per region, each registered under its connectome ``type:`` name.

Importing this package imports every region module, so that all ``type:`` names are in
:data:`REGISTRY`.
"""

from regions import amygdala, basal_ganglia, ca1, ca3, entorhinal, hippocampus, prefrontal, visual_cortex  # noqa: F401
from regions.base import REGISTRY, InputPort, Region, build_region, register

__all__ = ["REGISTRY", "InputPort", "Region", "build_region", "register"]
