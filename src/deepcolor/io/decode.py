"""Pillow images -> float pixels: every mode and bit depth that `read_image` takes, and alpha.

Pillow has no 16-bit colour mode, so 16-bit colour PNGs are decoded in two passes (high bytes, then low
bytes, with the same unfiltering) and 16-bit colour TIFFs through `tifffile`; their precision reaches the
float pipeline. Palette and colour-key (PNG tRNS) transparency become alpha. An ICC profile other than sRGB
is applied here for 8-bit images (`deepcolor.io.icc`).
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator

import numpy as np
from PIL import Image

from deepcolor.io.errors import DECODE_ERRORS, ImageWarning, reason
from deepcolor.io.icc import icc_to_srgb_8bit, is_srgb
from deepcolor.io.source import Source

_PILLOW_GLOBALS = threading.Lock()

# (colour (H, W) or (H, W, 3) float32 in [0, 1], alpha (H, W) or None, bits per channel in the file)
Decoded = tuple[np.ndarray, np.ndarray | None, int]


class MetadataTooLarge(Exception):
    """Pillow refused a PNG text or ICC chunk over its size limits (`read_image` then retries without)."""


def is_metadata_limit(error: BaseException) -> bool:
    """Whether a Pillow error is its PNG text-chunk limit (MAX_TEXT_CHUNK, MAX_TEXT_MEMORY)."""
    return isinstance(error, ValueError) and "MAX_TEXT_" in str(error)


@contextlib.contextmanager
def open_without_pillow_limit() -> Iterator[None]:
    """Pillow's own decompression-bomb check (a global) fires inside `Image.open`, before we learn the size;
    it is off while a header is parsed (a short, locked moment) and our check follows at once, with the size
    in the message. Decoding runs outside the lock, so threads still decode in parallel."""
    with _PILLOW_GLOBALS:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def load(im: Image.Image, source: Source) -> None:
    """Decode the pixels of an opened image; broken data becomes one `ImageError` line."""
    try:
        im.load()
    except Image.DecompressionBombError as e:
        raise source.error(f"over the pixel limit ({reason(e)})") from None
    except MemoryError:
        raise source.error(f"not enough memory to decode {im.width} x {im.height} pixels") from None
    except DECODE_ERRORS as e:
        if is_metadata_limit(e):
            raise MetadataTooLarge(str(e)) from None
        raise source.error(f"truncated or corrupt image data ({reason(e)})") from None


def decode(
    im: Image.Image, source: Source, icc: bytes | None
) -> tuple[np.ndarray, np.ndarray | None, int, bool]:
    """-> (colour (H, W) or (H, W, 3) float32 in [0, 1], alpha or None, bit depth, ICC already applied)."""
    rawmode = im.tile[0].args if im.format == "PNG" and len(im.tile) == 1 else None
    if rawmode in ("RGB;16B", "RGBA;16B", "LA;16B"):
        return (*_decode_png16(im, source, rawmode), False)
    if im.format == "TIFF" and _tiff_is_16bit_colour(im):
        return (*_decode_tiff16(source), False)

    load(im, source)
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        values = np.asarray(im)
        key = im.info.get("transparency")  # PNG tRNS: one grey value is transparent
        alpha = (values != key).astype(np.float32) if isinstance(key, int) else None
        return values.astype(np.float32) / 65535.0, alpha, 16, False
    if mode == "I":
        return _int32_to_float(np.asarray(im), source.name), None, 32, False
    if mode == "F":
        return float_to_unit(np.asarray(im, dtype=np.float32), source), None, 32, False

    bit_depth = 1 if mode == "1" else 8
    alpha = None
    if mode == "P":
        has_alpha = "transparency" in im.info or (im.palette is not None and im.palette.mode == "RGBA")
        im = im.convert("RGBA" if has_alpha else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode in ("1", "La"):
        im = im.convert("LA" if mode == "La" else "L")
    elif mode == "RGBa":
        im = im.convert("RGBA")
    elif mode in ("L", "RGB") and "transparency" in im.info:  # PNG tRNS: one colour is transparent
        im = im.convert("LA" if mode == "L" else "RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA", "CMYK"):
        try:
            im = im.convert("RGB")
        except (ValueError, OSError):
            raise source.error(f"unsupported colour mode {mode}") from None
    if im.mode in ("LA", "RGBA"):
        alpha = np.asarray(im.getchannel("A"), dtype=np.float32) / 255.0
        im = im.convert("L" if im.mode == "LA" else "RGB")

    icc_done = False
    if icc is not None and not is_srgb(icc):
        converted = icc_to_srgb_8bit(im, icc, source.name)
        if converted is not None:
            im, icc_done = converted, True
    if im.mode == "CMYK":  # no usable profile: Pillow's naive conversion is all we can do
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.float32) / 255.0, alpha, bit_depth, icc_done


def _decode_png16(im: Image.Image, source: Source, rawmode: str) -> Decoded:
    """16-bit grey+alpha or colour PNG at full precision.

    Pillow keeps only the high byte of each sample. Its unfiltering works on whole pixels, so decoding the
    same data again with a rawmode that keeps the other byte of each pair gives the low bytes exactly.
    """
    tile = im.tile[0]
    if rawmode == "LA;16B":
        # 4 bytes per pixel, read as 8-bit RGBA: (L high, L low, A high, A low).
        im.tile = [tile._replace(args="RGBA")]
        load(im, source)
        b = np.asarray(im).astype(np.uint16)
        gray = (b[..., 0] << 8 | b[..., 1]).astype(np.float32) / 65535.0
        alpha = (b[..., 2] << 8 | b[..., 3]).astype(np.float32) / 65535.0
        return gray, alpha, 16
    load(im, source)
    high = np.asarray(im).astype(np.uint16)
    with source.open() as f:
        with open_without_pillow_limit():
            again = Image.open(f)
        with again:
            again.tile = [again.tile[0]._replace(args=rawmode.replace(";16B", ";16L"))]
            load(again, source)
            low = np.asarray(again).astype(np.uint16)
    exact = high << 8 | low
    values = exact.astype(np.float32) / 65535.0
    if values.shape[2] == 4:
        return values[..., :3], values[..., 3], 16
    key = im.info.get("transparency")  # PNG tRNS: one 16-bit colour is transparent
    if isinstance(key, tuple) and len(key) == 3:
        return values, (exact != np.array(key, np.uint16)).any(axis=2).astype(np.float32), 16
    return values, None, 16


def _tiff_is_16bit_colour(im: Image.Image) -> bool:
    tags = getattr(im, "tag_v2", {})
    bits = tags.get(258, (8,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    return int(tags.get(277, 1)) >= 2 and max(bits) == 16


def _decode_tiff16(source: Source) -> Decoded:
    import tifffile  # installed with scikit-image; only needed for 16-bit colour TIFF

    try:
        with source.open() as f:
            data = tifffile.imread(f, key=0)
    except MemoryError:
        raise source.error("not enough memory to decode") from None
    except Exception as e:  # noqa: BLE001 - tifffile raises many kinds on broken files
        raise source.error(f"truncated or corrupt TIFF data ({reason(e)})") from None
    if data.ndim != 3 or data.shape[2] < 2 or data.dtype != np.uint16:
        raise source.error(f"unsupported 16-bit TIFF layout {data.shape} {data.dtype}")
    values = data.astype(np.float32) / 65535.0
    if data.shape[2] == 2:  # grey + alpha
        return values[..., 0], values[..., 1], 16
    return values[..., :3], (values[..., 3] if data.shape[2] >= 4 else None), 16


def _int32_to_float(a: np.ndarray, name: str) -> np.ndarray:
    lo, hi = int(a.min()), int(a.max())
    if lo >= 0 and hi <= 65535:  # what 16-bit sources decode to
        return a.astype(np.float32) / 65535.0
    message = f"{name}: 32-bit integer values span [{lo}, {hi}]; stretched to [0, 1]"
    warnings.warn(message, ImageWarning, stacklevel=4)
    return _stretch(a.astype(np.float64), lo, hi)


def float_to_unit(a: np.ndarray, source: Source) -> np.ndarray:
    """A float file's samples -> [0, 1]: as they are when inside, else stretched (with a warning).

    Raises:
        ImageError: NaN or infinite samples.
    """
    if not np.isfinite(a).all():
        raise source.error("float image holds NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo >= 0.0 and hi <= 1.0:
        return a.astype(np.float32, copy=False)
    message = f"{source.name}: float values span [{lo:g}, {hi:g}]; stretched to [0, 1]"
    warnings.warn(message, ImageWarning, stacklevel=4)
    return _stretch(a.astype(np.float64), lo, hi)


def _stretch(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return ((a - lo) / (hi - lo if hi > lo else 1.0)).astype(np.float32)
