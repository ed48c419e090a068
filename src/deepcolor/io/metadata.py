"""Metadata that travels with the pixels: EXIF (orientation applied and reset) and a JPEG's quality."""

from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image

from deepcolor.io.errors import ImageWarning, reason

ORIENTATION_TAG = 0x0112
EXIF_HEADER = b"Exif\x00\x00"

# The luminance quantisation table of the JPEG standard (ITU-T T.81, Annex K, table K.1); libjpeg's quality
# q scales it by 5000 / q (q < 50) or 200 - 2 q (q >= 50) percent.
# fmt: off
_JPEG_LUMA_TABLE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.float64)
# fmt: on


def read_exif(im: Image.Image, name: str) -> tuple[int, bytes | None]:
    """-> (EXIF orientation 1..8, EXIF bytes to hand back with the orientation reset, or None).

    A broken EXIF block costs the EXIF, never the picture: it is dropped with a warning naming `name`.
    """
    try:
        exif = im.getexif()
        orientation = int(exif.get(ORIENTATION_TAG, 1))
    except Exception as e:  # noqa: BLE001 - a broken EXIF block must not cost the user the picture
        warnings.warn(f"{name}: ignoring a broken EXIF block ({reason(e)})", ImageWarning, stacklevel=3)
        return 1, None
    if orientation not in range(1, 9):
        orientation = 1
    if not im.info.get("exif"):  # TIFF tags also show up in getexif(); only real EXIF blocks go back out
        return orientation, None
    try:
        if ORIENTATION_TAG in exif:
            exif[ORIENTATION_TAG] = 1
        return orientation, exif.tobytes()
    except Exception as e:  # noqa: BLE001
        message = f"{name}: dropping an EXIF block that cannot be rewritten ({reason(e)})"
        warnings.warn(message, ImageWarning, stacklevel=3)
        return orientation, None


def orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply EXIF orientation (1..8) to an (H, W) or (H, W, C) array, as `PIL.ImageOps.exif_transpose`."""
    if orientation == 2:
        return a[:, ::-1]
    if orientation == 3:
        return a[::-1, ::-1]
    if orientation == 4:
        return a[::-1]
    if orientation == 5:
        return a.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(a, k=-1)
    if orientation == 7:
        return a[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(a, k=1)
    return a


def exif_with_header(exif: bytes | None) -> bytes | None:
    """EXIF bytes with the ``Exif\\0\\0`` header that Pillow and JPEG want (None or empty: None)."""
    if not exif:
        return None
    return exif if exif.startswith(EXIF_HEADER) else EXIF_HEADER + exif


def jpeg_quality(path: str | os.PathLike[str]) -> int | None:
    """The libjpeg quality (1-100) a JPEG file was most likely saved at, from its luminance quantisation
    table (the sum over the table, so the entry order does not matter); None when the file is not a JPEG
    or has no table. Files made with other tables get the quality whose standard table is closest in size.
    `read_image` gives the same as `LoadedImage.jpeg_quality`.
    """
    try:
        with Image.open(path) as im:
            if im.format != "JPEG":
                return None
            return quality_of_tables(getattr(im, "quantization", None))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def quality_of_tables(tables: dict | None) -> int | None:
    """The libjpeg quality whose standard luminance table is closest in size to ``tables[0]``, or None."""
    if not tables or 0 not in tables or len(tables[0]) != 64:
        return None
    qualities = np.arange(1, 101)
    percent = np.where(qualities < 50, 5000.0 / qualities, 200.0 - 2.0 * qualities)
    standard = np.clip(np.floor((_JPEG_LUMA_TABLE[None, :] * percent[:, None] + 50.0) / 100.0), 1, 255)
    return int(qualities[np.argmin(np.abs(standard.sum(1) - float(np.sum(tables[0]))))])


# ------------------------------------------------------------------------------ oversized PNG metadata

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# An embedded ICC profile up to this size (uncompressed) is kept and applied, even above Pillow's 1 MB limit
# for PNG chunks (profiles with large lookup tables run to a few MB); a larger one is dropped.
MAX_ICC_BYTES = 16 << 20
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def png_without_oversized_metadata(data: bytes, name: str) -> tuple[bytes, bytes | None]:
    """A PNG without the metadata chunks that Pillow refuses to read, so that its pixels can be read.

    Pillow refuses a whole PNG when one compressed text chunk (zTXt, iTXt: XMP, say) or the ICC profile
    (iCCP) inflates to more than ``PngImagePlugin.MAX_TEXT_CHUNK`` (1 MB), or the text chunks together to
    more than ``MAX_TEXT_MEMORY`` (64 MB). Here each such text chunk is left out, with an `ImageWarning`
    naming `name`; an ICC profile up to `MAX_ICC_BYTES` is taken out of the stream and handed back to be
    applied by the reader, a larger one is dropped with a warning. Chunk boundaries are followed as they
    are; a PNG broken past some point is copied from there as it is, for Pillow to judge.

    Args:
        data: the PNG file's bytes.
        name: what the warnings call the file.

    Returns:
        (the PNG's bytes without those chunks, the ICC profile taken out or None).
    """
    from PIL import PngImagePlugin

    text_limit = int(PngImagePlugin.MAX_TEXT_CHUNK)
    memory_limit = int(PngImagePlugin.MAX_TEXT_MEMORY)
    parts, icc, text_memory, pos = [data[:8]], None, 0, 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            break
        payload = data[pos + 8 : pos + 8 + length]
        keep = True
        if kind == b"iCCP":
            profile = _inflate(payload.partition(b"\0")[2][1:], MAX_ICC_BYTES)
            if profile is None:
                keep = False
                _warn_dropped(
                    name, f"the embedded ICC profile (over {_megabytes(MAX_ICC_BYTES)} uncompressed)"
                )
            elif len(profile) > text_limit:
                keep, icc = False, icc or profile
        elif kind in _TEXT_CHUNKS:
            keyword, size = _text_size(kind, payload, text_limit)
            what = f"the {kind.decode()} metadata chunk {keyword!r}"
            if size is None:
                keep = False
                _warn_dropped(name, f"{what} (over {_megabytes(text_limit)} uncompressed)")
            elif text_memory + size > memory_limit:
                keep = False
                _warn_dropped(name, f"{what} (the text chunks together are over {_megabytes(memory_limit)})")
            else:
                text_memory += size
        if keep:
            parts.append(data[pos:end])
        pos = end
    parts.append(data[pos:])
    return b"".join(parts), icc


def _text_size(kind: bytes, payload: bytes, limit: int) -> tuple[str, int | None]:
    """A text chunk -> (its keyword, the size of its text uncompressed, or None when over `limit`)."""
    raw_keyword, _, rest = payload.partition(b"\0")
    keyword = raw_keyword.decode("latin-1")
    if kind == b"tEXt":
        return keyword, len(rest)
    if kind == b"zTXt":
        text = _inflate(rest[1:], limit)
        return keyword, None if text is None else len(text)
    if len(rest) < 2:  # iTXt: compression flag, method, language, translated keyword, text
        return keyword, 0
    compressed, rest = rest[0], rest[2:]
    text = rest.split(b"\0", 2)[-1]
    if not compressed:
        return keyword, len(text)
    inflated = _inflate(text, limit)
    return keyword, None if inflated is None else len(inflated)


def _inflate(data: bytes, limit: int) -> bytes | None:
    """zlib data -> its bytes, None when they are over `limit` (as Pillow tests it); b"" when broken
    (Pillow ignores a broken chunk)."""
    import zlib

    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit)
    except zlib.error:
        return b""
    return None if inflater.unconsumed_tail else out


def _megabytes(n: int) -> str:
    return f"{n / (1 << 20):g} MB"


def _warn_dropped(name: str, what: str) -> None:
    warnings.warn(f"{name}: {what} dropped; the pixels are read without it", ImageWarning, stacklevel=3)
