"""Test helpers for image I/O: hand-built ICC profiles (no third-party profile files) and PNG parsing."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from deepcolor.io import srgb_profile


def _tags(icc: bytes) -> dict[bytes, bytes]:
    count = struct.unpack(">I", icc[128:132])[0]
    tags = {}
    for i in range(count):
        sig, offset, size = struct.unpack(">4sII", icc[132 + 12 * i : 144 + 12 * i])
        tags[sig] = icc[offset : offset + size]
    return tags


def _mluc(text: str) -> bytes:
    s = text.encode("utf-16-be")
    return b"mluc" + bytes(4) + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(s), 28) + s


def build_icc(tags: dict[bytes, bytes], header: bytes) -> bytes:
    """Assemble a profile from a 128-byte header and its tags (offsets, sizes and padding recomputed)."""
    table_end = 132 + 12 * len(tags)
    entries, blobs, offset = [], [], table_end
    for sig, data in tags.items():
        entries.append(struct.pack(">4sII", sig, offset, len(data)))
        padded = data + bytes(-len(data) % 4)
        blobs.append(padded)
        offset += len(padded)
    body = struct.pack(">I", len(tags)) + b"".join(entries) + b"".join(blobs)
    head = bytearray(header[:128])
    head[0:4] = struct.pack(">I", 128 + len(body))
    head[84:100] = bytes(16)  # profile ID: "not computed"
    return bytes(head) + body


def gamma_rgb_profile(gamma: float = 1.0, name: str = "deepcolor test: linear sRGB") -> bytes:
    """An RGB matrix/TRC profile with sRGB's primaries and white, and a pure power-law tone curve.

    With gamma 1.0 the pixels are linear-light sRGB, so converting them to sRGB must give
    `linear_to_srgb(value)`: a conversion whose right answer is known exactly.
    """
    srgb = srgb_profile()
    tags = _tags(srgb)
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)
    for sig in (b"rTRC", b"gTRC", b"bTRC"):
        tags[sig] = curve
    tags[b"desc"] = _mluc(name)
    return build_icc(tags, srgb[:128])


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(np.maximum(x, 0), 1 / 2.4) - 0.055)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk of a PNG file, checking each CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, out = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, payload = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF, f"bad CRC in {kind!r}"
        out.append((kind, payload))
        pos += 12 + length
    return out
