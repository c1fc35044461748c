"""Brain regions: one module per region, each registering itself under its connectome ``type:`` name.

Regions are discovered, not listed: importing this package imports every public module in it, and
every module that an installed package names in the entry-point group ``brain_inspired_a3c.regions``,
so that their ``@register`` decorators fill :data:`REGISTRY`. A connectome's ``imports:`` names more
modules (a lab's own regions), imported when it is loaded (``docs/regions.md``, "Add a region").
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings
from importlib.metadata import entry_points

from regions.base import REGISTRY, InputPort, Region, Teacher, TeacherInput, build_region, register

#: Entry-point group through which an installed package adds region types.
ENTRY_POINT_GROUP = "brain_inspired_a3c.regions"

__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "InputPort", "Region", "Teacher", "TeacherInput", "build_region",
           "load_plugins", "register"]


def load_plugins() -> None:
    """Import the modules that installed packages register under :data:`ENTRY_POINT_GROUP`.

    A plugin that fails to import is reported as a warning naming it (the types it would have
    registered are then unknown, which a connectome using them reports), never silently.
    """
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry.load()
        except Exception as error:  # a broken plugin must not take the built-in regions down with it
            warnings.warn(f"region plugin {entry.name!r} ({entry.value}) failed to import: "
                          f"{type(error).__name__}: {error}", stacklevel=2)


for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
load_plugins()
