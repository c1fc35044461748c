"""Headless-Chromium screenshots of analysis pages as arrays (``analysis.report.screenshot``), and a PNG
reader (the project has no imaging package). CI installs Debian's ``chromium``."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from analysis import report
from analysis.report import chromium  # noqa: F401  (the tests skip without it)


def screenshot(page: Path, png: Path, width: int, height: int) -> np.ndarray:
    """Render ``page`` in headless Chromium at ``width`` x ``height`` and return the PNG as uint8 ``[H, W, 3]``."""
    return read_png(report.screenshot(page, png, width, height))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _unfilter(kind: int, row: np.ndarray, previous: np.ndarray, bpp: int) -> np.ndarray:
    """One scanline undone (PNG filter types 0-4); Sub and Up vectorised, Average and Paeth byte by byte."""
    if kind == 0:
        return row
    if kind == 1:
        return (np.cumsum(row.reshape(-1, bpp).astype(np.int64), axis=0) % 256).astype(np.uint8).reshape(-1)
    if kind == 2:
        return ((row.astype(np.int64) + previous) % 256).astype(np.uint8)
    out, up = bytearray(row.tobytes()), previous.tobytes()
    for i in range(len(out)):
        left = out[i - bpp] if i >= bpp else 0
        if kind == 3:
            out[i] = (out[i] + ((left + up[i]) >> 1)) & 0xFF
        else:
            out[i] = (out[i] + _paeth(left, up[i], up[i - bpp] if i >= bpp else 0)) & 0xFF
    return np.frombuffer(bytes(out), dtype=np.uint8)


def read_png(path: Path) -> np.ndarray:
    """An 8-bit, non-interlaced RGB or RGBA PNG as uint8 ``[H, W, 3]`` (alpha dropped)."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    position, idat, header = 8, [], None
    while position < len(data):
        length, tag = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        position += 12 + length
        if tag == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif tag == b"IDAT":
            idat.append(body)
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"{path}: only 8-bit non-interlaced RGB/RGBA PNGs are read here (got depth {depth}, "
                         f"colour type {colour}, interlace {interlace})")
    bpp = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(height, 1 + width * bpp)
    rows, previous = [], np.zeros(width * bpp, dtype=np.uint8)
    for line in raw:
        previous = _unfilter(int(line[0]), line[1:], previous, bpp)
        rows.append(previous)
    return np.stack(rows).reshape(height, width, bpp)[..., :3]
