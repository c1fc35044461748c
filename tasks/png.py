"""Encode an RGB image as PNG with the standard library only (no imaging package needed)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


def write_png(path: str | Path, rgb: np.ndarray) -> None:
    """Save uint8 ``rgb`` [H, W, 3] to ``path`` (8-bit truecolour, no filtering)."""
    Path(path).write_bytes(encode_png(rgb))


def encode_png(rgb: np.ndarray, level: int = 6) -> bytes:
    """The PNG bytes of uint8 ``rgb`` [H, W, 3]; lossless, so a decoder gets ``rgb`` back exactly."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"a PNG needs uint8 [H, W, 3], got {rgb.dtype} {rgb.shape}")
    h, w, _ = rgb.shape

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = b"".join(b"\x00" + rgb[row].tobytes() for row in range(h))  # filter type 0 per row
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, level))
            + chunk(b"IEND", b""))
