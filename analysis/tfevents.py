"""Scalars from the TensorBoard event files of a run, without the tensorboard package.

tensorboardX writes TFRecord files of ``Event`` protos (it ships the proto classes). A record is
a little-endian uint64 length, a uint32 masked CRC of the length, the data and a uint32 masked
CRC of the data. The CRCs are not checked (CRC-32C is not in the standard library): a record cut
short by a crash ends the file, and a record that does not parse ends it too.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from google.protobuf.message import DecodeError
from tensorboardX.proto.event_pb2 import Event

_HEADER = struct.Struct("<QI")
_FOOTER = 4


@dataclass(frozen=True)
class Series:
    """One scalar tag: values at environment steps, ordered by step."""

    steps: np.ndarray
    values: np.ndarray


def records(path: Path) -> Iterator[bytes]:
    """The data of each complete record in a TFRecord file."""
    with open(path, "rb") as handle:
        while len(header := handle.read(_HEADER.size)) == _HEADER.size:
            length, _ = _HEADER.unpack(header)
            data = handle.read(length)
            if len(data) < length or len(handle.read(_FOOTER)) < _FOOTER:
                return
            yield data


def _events(path: Path) -> Iterator[Event]:
    for data in records(path):
        try:
            yield Event.FromString(data)
        except DecodeError:
            return


def read_scalars(tb_dir: Path) -> dict[str, Series]:
    """Every scalar tag in ``tb_dir``'s event files (a resumed run adds a file; all are merged)."""
    points: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for path in sorted(tb_dir.glob("events.out.tfevents.*")):
        for event in _events(path):
            for value in event.summary.value:
                kind = value.WhichOneof("value")
                if kind == "simple_value":
                    points[value.tag].append((event.step, event.wall_time, value.simple_value))
                elif kind == "tensor" and len(value.tensor.float_val) == 1:
                    points[value.tag].append((event.step, event.wall_time, value.tensor.float_val[0]))
    series = {}
    for tag, rows in points.items():
        rows.sort()
        steps, _, values = zip(*rows)
        series[tag] = Series(np.array(steps), np.array(values, dtype=float))
    return series
