"""A small PNG encoder for 16-bit images, which Pillow cannot write in colour (it has no 16-bit RGB mode).

Follows the PNG specification (ISO/IEC 15948): IHDR, optional iCCP and eXIf, IDAT, IEND. Each row gets the
filter that the usual heuristic prefers (smallest sum of absolute signed bytes, as libpng does); every filter
is computed from the raw bytes, so encoding is vectorised in NumPy.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)
_IDAT_CHUNK = 1 << 22


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    a, b, c = (x.astype(np.int16) for x in (a, b, c))
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c)).astype(np.uint8)


def _filter_block(raw: np.ndarray, above: np.ndarray, bpp: int) -> bytes:
    """raw: (h, row_bytes) uint8 rows, above: (h, row_bytes) the row above each (zeros above the first row)
    -> the filtered rows, each led by its filter-type byte."""
    left = np.zeros_like(raw)
    left[:, bpp:] = raw[:, :-bpp]
    up_left = np.zeros_like(raw)
    up_left[:, bpp:] = above[:, :-bpp]
    candidates = np.stack(
        [
            raw,  # 0 None
            raw - left,  # 1 Sub (uint8 arithmetic wraps modulo 256, as the spec wants)
            raw - above,  # 2 Up
            raw - ((left.astype(np.uint16) + above) // 2).astype(np.uint8),  # 3 Average
            raw - _paeth(left, above, up_left),  # 4 Paeth
        ]
    )  # (5, h, row_bytes)
    cost = np.abs(candidates.view(np.int8).astype(np.int32)).sum(axis=2)  # (5, h)
    best = cost.argmin(axis=0)
    rows = candidates[best, np.arange(raw.shape[0])]  # (h, row_bytes)
    return np.concatenate([best.astype(np.uint8)[:, None], rows], axis=1).tobytes()


def _compressed_rows(raw: np.ndarray, bpp: int, level: int) -> bytes:
    """raw: (H, row_bytes) uint8 -> the zlib stream for IDAT, built in blocks of rows to bound memory."""
    block = max(1, (1 << 22) // raw.shape[1])  # about 4 MB of raw rows at a time
    compressor = zlib.compressobj(level)
    parts = []
    for r0 in range(0, raw.shape[0], block):
        rows = raw[r0 : r0 + block]
        above = np.empty_like(rows)
        above[1:] = rows[:-1]
        above[0] = raw[r0 - 1] if r0 > 0 else 0
        parts.append(compressor.compress(_filter_block(rows, above, bpp)))
    parts.append(compressor.flush())
    return b"".join(parts)


def write_png16(
    f: BinaryIO, array: np.ndarray, icc: bytes | None = None, exif: bytes | None = None, level: int = 6
) -> None:
    """Write a 16-bit PNG.

    Args:
        f: a binary file open for writing.
        array: (H, W) or (H, W, C) uint16 with C = 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
        icc: an ICC profile to embed (iCCP chunk), or None.
        exif: EXIF bytes (with or without the ``Exif\\0\\0`` header) to embed (eXIf chunk), or None.
        level: zlib compression level, 0-9.
    """
    if array.dtype != np.uint16:
        raise ValueError(f"write_png16 needs a uint16 array. Got {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in _COLOR_TYPE or 0 in array.shape:
        raise ValueError(f"write_png16 needs (H, W) or (H, W, 1..4) with H, W > 0. Got {array.shape}")
    height, width, channels = array.shape
    raw = np.ascontiguousarray(array, dtype=">u2").view(np.uint8).reshape(height, width * channels * 2)
    data = _compressed_rows(raw, 2 * channels, level)
    f.write(_SIGNATURE)
    f.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, _COLOR_TYPE[channels], 0, 0, 0)))
    if icc:
        f.write(_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc)))
    if exif:
        f.write(_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    for start in range(0, len(data), _IDAT_CHUNK):
        f.write(_chunk(b"IDAT", data[start : start + _IDAT_CHUNK]))
    f.write(_chunk(b"IEND", b""))
