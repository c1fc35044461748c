"""What a recording holds: which region ports, how wide, and how they are stored.

The spec is known before the first step (from ``Brain.output_shapes()`` and the region
selection), so every dataset of the file is created once, at the start, and the file's
attributes say exactly what it holds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

#: Name and version written into every recording, so that a reader recognises foreign files.
FORMAT = "brain-inspired-a3c/recording"
FORMAT_VERSION = 3
#: HDF5 compression filters a recording may use ("none" = uncompressed).
COMPRESSIONS = ("gzip", "lzf", "none")


class RecordingError(Exception):
    """A recording that cannot be written or read as asked; the message names the file and the fix."""


@dataclass(frozen=True)
class RecordingSpec:
    """The recorded ports and their storage.

    Attributes:
        ports: ``("region.port", units)`` of each recorded region output, trailing dims flattened.
        value_port: the connectome's ``value:`` port, always stored as ``/steps/value``.
        td_error_port: the brain's TD-error port (``basal_ganglia.td_error``), stored as
            ``/steps/td_error``; None when the brain has none.
        float16: store region activity as float16 (half the size; about 3 significant digits).
        compression: one of :data:`COMPRESSIONS`.
        memory: neighbours per lookup of the brain's episodic memory (its ``k``), whose traffic is stored under
            ``/steps/memory`` (:mod:`brain.recording.memory`); 0 when the brain has no memory (and in
            recordings older than format version 3).
    """

    ports: tuple[tuple[str, int], ...]
    value_port: str
    td_error_port: str | None
    float16: bool = False
    compression: str = "gzip"
    memory: int = 0

    @classmethod
    def for_brain(cls, brain, regions: Sequence[str] = (), float16: bool = False,
                  compression: str = "gzip") -> RecordingSpec:
        """The spec of ``brain`` recording ``regions`` (all regions when empty).

        Example:
            >>> from brain.engine import Brain
            >>> spec = RecordingSpec.for_brain(Brain.from_connectome("wba"), ["ca1"])
            >>> spec.ports
            (('ca1.place_cells', 256), ('ca1.code', 128))
        """
        check_compression(compression)
        shapes = brain.output_shapes()
        chosen = set(check_regions(regions, brain.connectome))
        ports = tuple((key, math.prod(shape)) for key, shape in shapes.items() if key.split(".")[0] in chosen)
        td_error = next((key for key, shape in shapes.items() if key.endswith(".td_error") and math.prod(shape) == 1),
                        None)
        memory = next((region.memory_params["k"] for region in brain.regions.values() if region.holds_memory), 0)
        return cls(ports, str(brain.connectome.value), td_error, float16, compression, memory)

    @property
    def buffered(self) -> tuple[tuple[str, int], ...]:
        """The ports a worker copies at each recorded step: the recorded ones, then value and TD error.

        Value and TD error are one unit wide (the engine reads the value port's single unit).
        """
        extra = [(key, 1) for key in (self.value_port, self.td_error_port)
                 if key is not None and key not in dict(self.ports)]
        return self.ports + tuple(extra)

    @property
    def buffered_keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.buffered)

    def columns(self) -> dict[str, slice]:
        """Where each buffered port lies in a step's flat row (the ports side by side, in order)."""
        columns, start = {}, 0
        for key, units in self.buffered:
            columns[key] = slice(start, start + units)
            start += units
        return columns

    @property
    def activity_dtype(self) -> str:
        return "float16" if self.float16 else "float32"

    def to_attrs(self) -> dict[str, Any]:
        """The spec as HDF5 attributes (plain strings and booleans)."""
        return {"ports": json.dumps([list(port) for port in self.ports]), "value_port": self.value_port,
                "td_error_port": self.td_error_port or "", "activity_dtype": self.activity_dtype,
                "compression": self.compression, "memory_neighbours": self.memory}

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> RecordingSpec:
        ports = tuple((str(key), int(units)) for key, units in json.loads(attrs["ports"]))
        return cls(ports, str(attrs["value_port"]), str(attrs["td_error_port"]) or None,
                   str(attrs["activity_dtype"]) == "float16", str(attrs["compression"]),
                   int(attrs.get("memory_neighbours", 0)))


def check_regions(selection: Iterable[str], connectome) -> list[str]:
    """The selected region names (every built region when empty), checked against ``connectome``.

    Runs before anything is built or written, so that a typo in ``--record-regions`` costs nothing.
    """
    removed = {name for name, mode in connectome.lesions.items() if mode == "remove" and name in connectome.regions}
    available = [name for name in connectome.regions if name not in removed]
    selection = list(selection)
    for name in selection:
        if name in removed:
            raise RecordingError(f"--record-regions: region {name!r} is removed by a lesion, so it has no activity "
                                 f"to record; drop it from the list")
        if name not in available:
            raise RecordingError(f"--record-regions: unknown region {name!r}; this brain has "
                                 f"{', '.join(available)} (leave the flag out to record them all)")
    return selection or available


def check_compression(compression: str) -> None:
    if compression not in COMPRESSIONS:
        raise RecordingError(f"unknown recording compression {compression!r}; choose one of {', '.join(COMPRESSIONS)}")
