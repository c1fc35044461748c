"""Brain regions: one module per region, each registered under its connectome ``type:`` name."""

from regions.base import REGISTRY, InputPort, Region, build_region, register

__all__ = ["REGISTRY", "InputPort", "Region", "build_region", "register"]
