"""Reading and writing images: the one place where deepcolor touches image files and PIL.

`read_image` turns whatever a user hands us into float32 sRGB in [0, 1] (or refuses it with one clear line);
`write_image` writes float images back atomically, keeping alpha, ICC and EXIF where the format allows.

What `read_image` copes with, and how:

- Formats: JPEG, PNG (8 and 16 bit, any colour type, interlaced), TIFF, BMP, WebP, GIF; anything else
  Pillow opens is tried too. Animated GIF/WebP/PNG and multi-page TIFF: the first frame, with an
  `ImageWarning`.
- Modes: 1, L, LA, P, RGB, RGBA, CMYK, I;16, I and F. Palette and colour-key (PNG tRNS) transparency
  become alpha. Pillow has no
  16-bit colour mode, so 16-bit colour PNGs are decoded in two passes (high bytes, then low bytes, with the
  same unfiltering) and 16-bit colour TIFFs through `tifffile`; their precision reaches the float pipeline.
- EXIF orientation is applied to the pixels and reset to 1 in the EXIF that is handed back.
- An embedded ICC profile other than sRGB is converted to sRGB with LittleCMS (8-bit images: directly;
  16-bit and float images: through a fine lookup table, so that no banding appears).
- Refused with `ImageError("<file>: <problem>")`: missing, empty, unreadable or truncated files, files that
  are not images, and images over `max_pixels`, checked from the header before any pixel is decoded.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import struct
import sys
import tempfile
import threading
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from deepcolor.io._png16 import write_png16
from deepcolor.io.atomic import atomic_write
from deepcolor.io.errors import ImageError, ImageWarning

DEFAULT_MAX_PIXELS = 100_000_000
GRAY_TOLERANCE = 2.0 / 255.0  # JPEG rounding alone moves a grey pixel's channels apart by a code or so

# File name endings that `write_image` understands, and the Pillow format each one means.
WRITE_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".gif": "GIF",
}

# Exceptions that Pillow and its codecs raise on broken data (Pillow uses SyntaxError for bad headers).
# TypeError and ZeroDivisionError: what Pillow's TIFF reader raises on some malformed headers.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, TypeError, EOFError, struct.error, IndexError, KeyError,
                  ZeroDivisionError, zlib.error)

_ORIENTATION_TAG = 0x0112
_PILLOW_GLOBALS = threading.Lock()


@dataclass
class LoadedImage:
    """An image as read from a file.

    Attributes:
        rgb: (H, W, 3) float32 sRGB in [0, 1], upright (EXIF orientation applied). Grey sources repeat the
            grey channel three times.
        alpha: (H, W) float32 in [0, 1] (1 = opaque), or None when the file has no alpha.
        icc: the ICC profile to embed when writing `rgb` back, or None. When the file's profile was
            converted to sRGB, this is an sRGB profile (it describes the pixels we hold now); when the file
            was already sRGB, or its profile could not be applied, it is the file's own profile.
        exif: the file's EXIF block (with its ``Exif\\0\\0`` header) with the orientation reset to 1, since
            the pixels are upright now; None when the file has none.
        bit_depth: bits per channel in the file: 1, 8, 16 or 32 (integer or float TIFF).
        is_gray: all three channels are equal within `GRAY_TOLERANCE` (always True for grey sources).
        path: the file.
        format: the file format as Pillow names it ("JPEG", "PNG", ...).
        mode: the file's mode as Pillow names it ("RGB", "P", "I;16", "CMYK", ...).
        jpeg_quality: for a JPEG, the libjpeg quality it was most likely saved at (see `jpeg_quality`);
            None for other formats.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    icc: bytes | None
    exif: bytes | None
    bit_depth: int
    is_gray: bool
    path: Path
    format: str
    mode: str
    jpeg_quality: int | None = None

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])


def is_effectively_gray(rgb: np.ndarray, tolerance: float = GRAY_TOLERANCE) -> bool:
    """True when R, G and B differ by at most `tolerance` everywhere.

    Args:
        rgb: (H, W, 3) float image in [0, 1].
        tolerance: the largest channel difference that still counts as grey, in [0, 1] units.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"Expected an (H, W, 3) image. Got shape {rgb.shape}")
    return bool(
        np.abs(rgb[..., 0] - rgb[..., 1]).max(initial=0.0) <= tolerance
        and np.abs(rgb[..., 1] - rgb[..., 2]).max(initial=0.0) <= tolerance
    )


# --------------------------------------------------------------------------------------------- reading


def read_image(
    path: str | os.PathLike[str],
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    *,
    gray_tolerance: float = GRAY_TOLERANCE,
) -> LoadedImage:
    """Read an image file into float32 sRGB.

    Args:
        path: the file.
        max_pixels: refuse images with more pixels than this (width x height, read from the header before
            decoding); None for no limit.
        gray_tolerance: channel difference up to which a colour image counts as grey (`is_gray`).

    Returns:
        A `LoadedImage` with `rgb` (H, W, 3) float32 in [0, 1] and `alpha` (H, W) float32 or None.

    Raises:
        ImageError: the file is missing, empty, not an image, truncated or corrupt, or over `max_pixels`.
            The message is one line: ``"<file>: <problem>"``.

    Warns:
        ImageWarning: only the first frame of an animation was read, or a broken ICC profile or EXIF block
            was ignored.
    """
    path = Path(path)
    _check_file(path)
    # Pillow and tifffile log warnings about odd files, and libtiff prints straight to file descriptor 2:
    # the user gets our one line per file instead.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _quiet_loggers(), (_capture_c_stderr() if _is_tiff(path) else contextlib.nullcontext()):
            image = _read(path, max_pixels, gray_tolerance)
    # Only for a file that was read: a refused one has its error, which says enough.
    for w in caught:
        if issubclass(w.category, Image.DecompressionBombWarning):
            continue  # our own pixel limit has been applied
        if issubclass(w.category, ImageWarning):
            warnings.warn(w.message, stacklevel=2)
        elif issubclass(w.category, UserWarning) and ("PIL" in w.filename or "tifffile" in w.filename):
            # Pillow's "Corrupt EXIF data", "Truncated File Read"...: one line naming the file.
            warnings.warn(f"{path}: {' '.join(str(w.message).split())}", ImageWarning, stacklevel=2)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return image


def _read(path: Path, max_pixels: int | None, gray_tolerance: float) -> LoadedImage:
    with _open_without_pillow_limit():  # our own limit is checked below, with the size in the message
        try:
            im = Image.open(path)
        except UnidentifiedImageError:
            if _is_tiff(path):  # layouts Pillow does not know (16-bit grey + alpha, ...): tifffile
                return _read_tiff_fallback(path, max_pixels, gray_tolerance)
            raise ImageError(path, _not_an_image(path)) from None
        except _DECODE_ERRORS as e:
            raise ImageError(path, f"not a readable image ({_reason(e)})") from None
    with im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageError(path, f"has no pixels ({width} x {height})")
        if max_pixels is not None and width * height > max_pixels:
            raise ImageError(path, _over_limit(width, height, max_pixels))
        _warn_if_animated(im, path)
        fmt, mode = im.format or "?", im.mode
        quality = _quality_of_tables(getattr(im, "quantization", None)) if fmt == "JPEG" else None
        icc = im.info.get("icc_profile") or None
        color, alpha, bit_depth, icc_done = _decode(im, path, icc)
        orientation, exif = _exif(im, path)  # after decoding: PNG's getexif() would decode at 8 bits
    if icc_done:
        icc = srgb_profile()  # the pixels are sRGB now; the file's profile no longer describes them
    elif icc is not None and color.dtype == np.float32 and bit_depth > 8 and not _is_srgb(icc):
        color, icc = _icc_to_srgb_float(color, icc, path)
    color = _orient(color, orientation)
    alpha = None if alpha is None else _orient(alpha, orientation)
    if color.ndim == 2:
        rgb = np.repeat(color[:, :, None], 3, axis=2)
        is_gray = True
    else:
        rgb = np.ascontiguousarray(color)
        is_gray = is_effectively_gray(rgb, gray_tolerance)
    return LoadedImage(
        rgb=rgb.astype(np.float32, copy=False),
        alpha=None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32),
        icc=icc,
        exif=exif,
        bit_depth=bit_depth,
        is_gray=is_gray,
        path=path,
        format=fmt,
        mode=mode,
        jpeg_quality=quality,
    )


@contextlib.contextmanager
def _quiet_loggers() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("PIL", "tifffile")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextlib.contextmanager
def _capture_c_stderr() -> Iterator[None]:
    """Send file descriptor 2 to a scratch file for the duration (libtiff's warnings go there)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _pixels(n: int) -> str:
    return f"{round(n / 1e6, 1):g} MP" if n >= 1_000_000 else f"{n} pixels"


def _over_limit(width: int, height: int, max_pixels: int) -> str:
    return f"{width} x {height} pixels ({_pixels(width * height)}) is over the limit of {_pixels(max_pixels)}"


def _is_tiff(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _read_tiff_fallback(path: Path, max_pixels: int | None, gray_tolerance: float) -> LoadedImage:
    import tifffile  # installed with scikit-image

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            height, width = int(page.imagelength), int(page.imagewidth)
            if max_pixels is not None and width * height > max_pixels:
                raise ImageError(path, _over_limit(width, height, max_pixels))
            data = page.asarray()
            icc = page.tags.get(34675)
            icc = bytes(icc.value) if icc is not None else None
            orientation = int(page.tags[274].value) if 274 in page.tags else 1
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(path, "not enough memory to decode") from None
    except Exception as e:  # noqa: BLE001 - tifffile raises many kinds on broken files
        raise ImageError(path, f"not a readable image ({_reason(e)})") from None
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim != 3 or data.dtype not in (np.uint8, np.uint16) or data.shape[2] > 4:
        raise ImageError(path, f"unsupported TIFF layout {data.shape} {data.dtype}")
    scale = float(np.iinfo(data.dtype).max)
    values = data.astype(np.float32) / scale
    color = values[..., 0] if data.shape[2] <= 2 else values[..., :3]
    alpha = values[..., -1] if data.shape[2] in (2, 4) else None
    if icc is not None and not _is_srgb(icc):
        color, icc = _icc_to_srgb_float(color, icc, path)
    color = _orient(color, orientation if orientation in range(1, 9) else 1)
    alpha = None if alpha is None else _orient(alpha, orientation if orientation in range(1, 9) else 1)
    rgb = np.repeat(color[:, :, None], 3, axis=2) if color.ndim == 2 else np.ascontiguousarray(color)
    return LoadedImage(
        rgb=rgb.astype(np.float32, copy=False),
        alpha=None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32),
        icc=icc,
        exif=None,
        bit_depth=8 * data.dtype.itemsize,
        is_gray=color.ndim == 2 or is_effectively_gray(rgb, gray_tolerance),
        path=path,
        format="TIFF",
        mode=("L", "LA", "RGB", "RGBA")[data.shape[2] - 1] + (";16" if data.dtype == np.uint16 else ""),
    )


def _check_file(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageError(path, "no such file") from None
    except OSError as e:
        raise ImageError(path, f"cannot read: {e.strerror or e}") from None
    if path.is_dir():
        raise ImageError(path, "is a folder, not an image file")
    if st.st_size == 0:
        raise ImageError(path, "empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise ImageError(path, "cannot read: permission denied")


def _not_an_image(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(512)
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "not an image (it looks like a text file)"
    return "not an image, or a format deepcolor cannot read"


def _reason(e: BaseException) -> str:
    return str(e) or type(e).__name__


@contextlib.contextmanager
def _open_without_pillow_limit() -> Iterator[None]:
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


def _warn_if_animated(im: Image.Image, path: Path) -> None:
    try:
        frames = int(getattr(im, "n_frames", 1))
    except _DECODE_ERRORS:
        return  # counting frames reads the whole file; a broken tail shows up when decoding
    if frames > 1:
        what = "pages" if im.format == "TIFF" else "frames"
        warnings.warn(f"{path}: has {frames} {what}; reading the first", ImageWarning, stacklevel=3)


def _exif(im: Image.Image, path: Path) -> tuple[int, bytes | None]:
    """-> (EXIF orientation 1..8, EXIF bytes to hand back with the orientation reset, or None)."""
    try:
        exif = im.getexif()
        orientation = int(exif.get(_ORIENTATION_TAG, 1))
    except Exception as e:  # noqa: BLE001 - a broken EXIF block must not cost the user the picture
        warnings.warn(f"{path}: ignoring a broken EXIF block ({_reason(e)})", ImageWarning, stacklevel=3)
        return 1, None
    if orientation not in range(1, 9):
        orientation = 1
    if not im.info.get("exif"):  # TIFF tags also show up in getexif(); only real EXIF blocks go back out
        return orientation, None
    try:
        if _ORIENTATION_TAG in exif:
            exif[_ORIENTATION_TAG] = 1
        return orientation, exif.tobytes()
    except Exception as e:  # noqa: BLE001
        warnings.warn(f"{path}: dropping an EXIF block that cannot be rewritten ({_reason(e)})", ImageWarning,
                      stacklevel=3)
        return orientation, None


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
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


def _load(im: Image.Image, path: Path) -> None:
    try:
        im.load()
    except Image.DecompressionBombError as e:
        raise ImageError(path, f"over the pixel limit ({_reason(e)})") from None
    except MemoryError:
        raise ImageError(path, f"not enough memory to decode {im.width} x {im.height} pixels") from None
    except _DECODE_ERRORS as e:
        raise ImageError(path, f"truncated or corrupt image data ({_reason(e)})") from None


def _decode(
    im: Image.Image, path: Path, icc: bytes | None
) -> tuple[np.ndarray, np.ndarray | None, int, bool]:
    """-> (colour (H, W) or (H, W, 3) float32 in [0, 1], alpha or None, bit depth, ICC already applied)."""
    rawmode = im.tile[0].args if im.format == "PNG" and len(im.tile) == 1 else None
    if rawmode in ("RGB;16B", "RGBA;16B", "LA;16B"):
        return (*_decode_png16(im, path, rawmode), False)
    if im.format == "TIFF" and _tiff_is_16bit_colour(im):
        return (*_decode_tiff16(path), False)

    _load(im, path)
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        values = np.asarray(im)
        key = im.info.get("transparency")  # PNG tRNS: one grey value is transparent
        alpha = (values != key).astype(np.float32) if isinstance(key, int) else None
        return values.astype(np.float32) / 65535.0, alpha, 16, False
    if mode == "I":
        return _int32_to_float(np.asarray(im), path), None, 32, False
    if mode == "F":
        return _float_to_unit(np.asarray(im, dtype=np.float32), path), None, 32, False

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
            raise ImageError(path, f"unsupported colour mode {mode}") from None
    if im.mode in ("LA", "RGBA"):
        alpha = np.asarray(im.getchannel("A"), dtype=np.float32) / 255.0
        im = im.convert("L" if im.mode == "LA" else "RGB")

    icc_done = False
    if icc is not None and not _is_srgb(icc):
        converted = _icc_to_srgb_8bit(im, icc, path)
        if converted is not None:
            im, icc_done = converted, True
    if im.mode == "CMYK":  # no usable profile: Pillow's naive conversion is all we can do
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.float32) / 255.0, alpha, bit_depth, icc_done


def _decode_png16(im: Image.Image, path: Path, rawmode: str) -> tuple[np.ndarray, np.ndarray | None, int]:
    """16-bit grey+alpha or colour PNG at full precision.

    Pillow keeps only the high byte of each sample. Its unfiltering works on whole pixels, so decoding the
    same data again with a rawmode that keeps the other byte of each pair gives the low bytes exactly.
    """
    tile = im.tile[0]
    if rawmode == "LA;16B":
        # 4 bytes per pixel, read as 8-bit RGBA: (L high, L low, A high, A low).
        im.tile = [tile._replace(args="RGBA")]
        _load(im, path)
        b = np.asarray(im).astype(np.uint16)
        gray = (b[..., 0] << 8 | b[..., 1]).astype(np.float32) / 65535.0
        alpha = (b[..., 2] << 8 | b[..., 3]).astype(np.float32) / 65535.0
        return gray, alpha, 16
    _load(im, path)
    high = np.asarray(im).astype(np.uint16)
    with _open_without_pillow_limit():
        again = Image.open(path)
    with again:
        again.tile = [again.tile[0]._replace(args=rawmode.replace(";16B", ";16L"))]
        _load(again, path)
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


def _decode_tiff16(path: Path) -> tuple[np.ndarray, np.ndarray | None, int]:
    import tifffile  # installed with scikit-image; only needed for 16-bit colour TIFF

    try:
        data = tifffile.imread(path, key=0)
    except MemoryError:
        raise ImageError(path, "not enough memory to decode") from None
    except Exception as e:  # noqa: BLE001 - tifffile raises many kinds on broken files
        raise ImageError(path, f"truncated or corrupt TIFF data ({_reason(e)})") from None
    if data.ndim != 3 or data.shape[2] < 2 or data.dtype != np.uint16:
        raise ImageError(path, f"unsupported 16-bit TIFF layout {data.shape} {data.dtype}")
    values = data.astype(np.float32) / 65535.0
    if data.shape[2] == 2:  # grey + alpha
        return values[..., 0], values[..., 1], 16
    return values[..., :3], (values[..., 3] if data.shape[2] >= 4 else None), 16


def _int32_to_float(a: np.ndarray, path: Path) -> np.ndarray:
    lo, hi = int(a.min()), int(a.max())
    if lo >= 0 and hi <= 65535:  # what 16-bit sources decode to
        return a.astype(np.float32) / 65535.0
    warnings.warn(f"{path}: 32-bit integer values span [{lo}, {hi}]; stretched to [0, 1]", ImageWarning,
                  stacklevel=4)
    return _stretch(a.astype(np.float64), lo, hi)


def _float_to_unit(a: np.ndarray, path: Path) -> np.ndarray:
    if not np.isfinite(a).all():
        raise ImageError(path, "float image holds NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo >= 0.0 and hi <= 1.0:
        return a
    warnings.warn(f"{path}: float values span [{lo:g}, {hi:g}]; stretched to [0, 1]", ImageWarning,
                  stacklevel=4)
    return _stretch(a.astype(np.float64), lo, hi)


def _stretch(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return ((a - lo) / (hi - lo if hi > lo else 1.0)).astype(np.float32)


# ----------------------------------------------------------------------------------------- ICC profiles


@lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """The sRGB ICC profile (LittleCMS's built-in one) that deepcolor embeds in converted images."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@lru_cache(maxsize=1)
def _srgb_cms() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@lru_cache(maxsize=32)
def _is_srgb(icc: bytes) -> bool:
    """Whether an RGB profile maps colours to sRGB unchanged (within one 8-bit code), tested on a grid of
    4096 colours; names are not trusted ("Linear sRGB" is not sRGB)."""
    if icc == srgb_profile():
        return True
    if _icc_space(icc) != "RGB":
        return False
    levels = np.arange(0, 256, 17, dtype=np.uint8)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        out = ImageCms.profileToProfile(Image.fromarray(grid), source, _srgb_cms(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return False
    return int(np.abs(np.asarray(out).astype(np.int16) - grid).max()) <= 1


def _icc_space(icc: bytes) -> str:
    """The profile's data colour space from its header: 'RGB', 'GRAY', 'CMYK', ..."""
    return icc[16:20].decode("ascii", "replace").strip() if len(icc) >= 20 else ""


def _icc_to_srgb_8bit(im: Image.Image, icc: bytes, path: Path) -> Image.Image | None:
    """L, RGB or CMYK image with an embedded profile -> RGB sRGB image, or None (with a warning) if the
    profile cannot be used."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(im, source, _srgb_cms(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as e:
        warnings.warn(f"{path}: embedded ICC profile not applied ({_reason(e)})", ImageWarning, stacklevel=4)
        return None


_LUT_STEP = 5  # grid step in 8-bit codes: 52 points per axis (0, 5, ..., 255)


def _icc_to_srgb_float(color: np.ndarray, icc: bytes, path: Path) -> tuple[np.ndarray, bytes | None]:
    """16-bit or float image with a non-sRGB profile -> (sRGB float, profile now describing it).

    LittleCMS through Pillow works on 8-bit images only, so the profile is sampled on a grid (every 5th
    code per channel, or all 256 grey levels) and the grid is interpolated: the colour transform itself
    is accurate to about one 8-bit code, but smooth gradients stay smooth, with no 8-bit banding.
    """
    gray = color.ndim == 2
    levels = np.arange(0, 256, 1 if gray else _LUT_STEP, dtype=np.uint8)
    if gray:
        grid = Image.fromarray(levels[None, :])  # (1, 256) L
    else:
        r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
        grid = Image.fromarray(np.stack([r, g, b], axis=-1).reshape(1, -1, 3))  # (1, n^3) RGB
    converted = _icc_to_srgb_8bit(grid, icc, path)
    if converted is None:
        return color, icc
    table = np.asarray(converted, dtype=np.float32).reshape(-1, 3) / 255.0
    if gray:
        x = np.linspace(0.0, 1.0, 256, dtype=np.float32)
        return np.stack([np.interp(color, x, table[:, c]) for c in range(3)], axis=-1).astype(np.float32), \
            srgb_profile()
    n = len(levels)
    return _trilinear(color, table.reshape(n, n, n, 3)), srgb_profile()


def _trilinear(rgb: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """rgb: (H, W, 3) in [0, 1]; lut: (n, n, n, 3) samples on a uniform grid -> (H, W, 3)."""
    n = lut.shape[0]
    flat = rgb.reshape(-1, 3)
    out = np.empty_like(flat, dtype=np.float32)
    for start in range(0, len(flat), 1 << 20):  # bound the temporaries on large images
        pos = np.clip(flat[start : start + (1 << 20)], 0.0, 1.0) * (n - 1)
        i0 = np.minimum(pos.astype(np.int64), n - 2)
        f = (pos - i0).astype(np.float32)
        acc = np.zeros((len(pos), 3), dtype=np.float32)
        for dr in (0, 1):
            wr = f[:, 0] if dr else 1.0 - f[:, 0]
            for dg in (0, 1):
                wg = f[:, 1] if dg else 1.0 - f[:, 1]
                for db in (0, 1):
                    wb = f[:, 2] if db else 1.0 - f[:, 2]
                    acc += (wr * wg * wb)[:, None] * lut[i0[:, 0] + dr, i0[:, 1] + dg, i0[:, 2] + db]
        out[start : start + len(pos)] = acc
    return out.reshape(rgb.shape)


# The luminance quantisation table of the JPEG standard (ITU-T T.81, Annex K, table K.1); libjpeg's quality
# q scales it by 5000 / q (q < 50) or 200 - 2 q (q >= 50) percent.
_JPEG_LUMA_TABLE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.float64)


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
            return _quality_of_tables(getattr(im, "quantization", None))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _quality_of_tables(tables: dict | None) -> int | None:
    if not tables or 0 not in tables or len(tables[0]) != 64:
        return None
    qualities = np.arange(1, 101)
    percent = np.where(qualities < 50, 5000.0 / qualities, 200.0 - 2.0 * qualities)
    standard = np.clip(np.floor((_JPEG_LUMA_TABLE[None, :] * percent[:, None] + 50.0) / 100.0), 1, 255)
    return int(qualities[np.argmin(np.abs(standard.sum(1) - float(np.sum(tables[0]))))])


# --------------------------------------------------------------------------------------------- writing


def write_image(
    path: str | os.PathLike[str],
    array: np.ndarray,
    alpha: np.ndarray | None = None,
    icc: bytes | None = None,
    exif: bytes | None = None,
    bit_depth: int = 8,
    overwrite: bool = True,
    *,
    quality: int = 95,
) -> Path:
    """Write an image atomically (temporary file next to `path`, then rename); the format follows the
    extension (.png, .jpg/.jpeg, .tif/.tiff, .bmp, .webp, .gif). Missing parent folders are created.

    Args:
        path: the file to write.
        array: (H, W) grey or (H, W, 3) RGB, float in [0, 1] (clipped), or uint8 / uint16 (full range).
            (H, W, 1) counts as grey.
        alpha: (H, W) in [0, 1] (1 = opaque), or None. Kept by PNG, TIFF, WebP and GIF (one bit: below 0.5
            is transparent). JPEG cannot store alpha, and BMP readers mostly ignore it: for those two the
            alpha is dropped, with an `ImageWarning`, and the colour is written as it is (not composited).
        icc: an ICC profile to embed (PNG, JPEG, TIFF, WebP), e.g. `LoadedImage.icc`. It is left out, when
            it does not fit the output (an RGB profile on a grey output or the other way round).
        exif: an EXIF block to embed (PNG, JPEG, WebP, TIFF except 16-bit colour), e.g. `LoadedImage.exif`.
        bit_depth: 8, or 16 for .png (any channel count, through deepcolor's own 16-bit PNG encoder, since
            Pillow has no 16-bit colour mode) and .tif (grey through Pillow, colour through `tifffile`).
        overwrite: replace an existing file. With False an existing file is an `ImageError`.
        quality: JPEG and WebP quality, 1-100 (JPEG is written with 4:4:4 chroma).

    Returns:
        `path` as a `Path`.

    Raises:
        ImageError: unknown extension, a bit depth the format cannot hold, an existing file with
            ``overwrite=False``, or a failed write. Nothing is left behind under `path` or beside it.
        ValueError: `array` or `alpha` has the wrong shape or holds NaN.
    """
    path = Path(path)
    fmt = WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(set(WRITE_FORMATS)))
        raise ImageError(path, f"unknown image extension {path.suffix!r} (use one of {known})")
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16. Got {bit_depth}")
    if bit_depth == 16 and fmt not in ("PNG", "TIFF"):
        raise ImageError(path, f"{fmt} holds 8 bits per channel; write 16-bit images as .png or .tif")
    color = _unit_float(array, "array")
    if color.ndim == 3 and color.shape[2] == 1:
        color = color[:, :, 0]
    if not (color.ndim == 2 or (color.ndim == 3 and color.shape[2] == 3)) or 0 in color.shape:
        raise ValueError(f"Expected an (H, W) or (H, W, 3) image. Got shape {np.shape(array)}")
    channels = [color] if color.ndim == 2 else [color[..., c] for c in range(3)]
    if alpha is not None:
        a = _unit_float(alpha, "alpha")
        if a.shape != color.shape[:2]:
            raise ValueError(f"alpha must be (H, W) = {color.shape[:2]}. Got shape {a.shape}")
        if fmt in ("JPEG", "BMP"):
            warnings.warn(f"{path}: {fmt} cannot store alpha; the alpha channel was dropped", ImageWarning,
                          stacklevel=2)
        else:
            channels.append(a)
    gray_output = len(channels) <= 2
    if icc is not None and _icc_space(icc) != ("GRAY" if gray_output else "RGB"):
        icc = None

    with atomic_write(path, overwrite=overwrite) as f:
        if bit_depth == 16:
            u16 = _quantize(channels, 65535.0, np.uint16)
            if fmt == "PNG":
                write_png16(f, u16, icc=icc, exif=_exif_bytes(exif))
            elif u16.shape[2] == 1:
                grey16 = Image.fromarray(u16[:, :, 0])
                grey16.save(f, format="TIFF", **_save_kwargs("TIFF", icc, exif, quality))
            else:
                _write_tiff16(f, u16, icc)
        else:
            u8 = _quantize(channels, 255.0, np.uint8)
            im = Image.fromarray(u8[:, :, 0] if u8.shape[2] == 1 else u8)  # L, LA, RGB or RGBA
            if fmt == "GIF":
                im, transparency = _to_gif_palette(u8)
                im.save(f, format="GIF", **({} if transparency is None else {"transparency": transparency}))
            else:
                if fmt == "WEBP" and im.mode == "LA":
                    im = im.convert("RGBA")
                im.save(f, format=fmt, **_save_kwargs(fmt, icc, exif, quality))
    return path


def _quantize(channels: list[np.ndarray], scale: float, dtype: type) -> np.ndarray:
    """(H, W) float channels in [0, 1] -> (H, W, C) integers, rounded, a band of rows at a time: a 12 MP
    photo needs a few MB of float temporaries instead of several full-size copies."""
    height, width = channels[0].shape
    out = np.empty((height, width, len(channels)), dtype)
    rows = max(1, (1 << 20) // width)  # about one megapixel per band
    for top in range(0, height, rows):
        for c, channel in enumerate(channels):
            band = np.clip(channel[top : top + rows], 0.0, 1.0).astype(np.float32, copy=False)
            band *= scale
            np.rint(band, out=band)
            out[top : top + rows, :, c] = band
    return out


def _to_gif_palette(u8: np.ndarray) -> tuple[Image.Image, int | None]:
    """(H, W, C) uint8 -> (palette image, transparent index or None). GIF alpha is one bit: alpha < 50%
    is transparent; the colours get at most 255 palette entries, leaving one for transparency."""
    color = u8[..., :3] if u8.shape[2] >= 3 else np.repeat(u8[..., :1], 3, axis=2)
    im = Image.fromarray(np.ascontiguousarray(color)).quantize(colors=255, dither=Image.Dither.NONE)
    if u8.shape[2] not in (2, 4):
        return im, None
    indices = np.asarray(im).copy()
    indices[u8[..., -1] < 128] = 255
    out = im.copy()
    out.frombytes(indices.tobytes())
    out.putpalette(((im.getpalette() or []) + [0] * 768)[:768])
    return out, 255


def _unit_float(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 65535.0
    if a.dtype == np.bool_:
        return a.astype(np.float32)
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name} must be float in [0, 1], uint8 or uint16. Got dtype {a.dtype}")
    if np.isnan(a).any():
        raise ValueError(f"{name} holds NaN values")
    return a  # clipped to [0, 1] when quantised (`_quantize`), band by band


def _exif_bytes(exif: bytes | None) -> bytes | None:
    if not exif:
        return None
    return exif if exif.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + exif


def _save_kwargs(fmt: str, icc: bytes | None, exif: bytes | None, quality: int) -> dict[str, object]:
    kwargs: dict[str, object] = {}
    if fmt in ("PNG", "JPEG", "TIFF", "WEBP"):
        if icc:
            kwargs["icc_profile"] = icc
        if exif:
            exif_obj = Image.Exif()
            exif_obj.load(_exif_bytes(exif))
            kwargs["exif"] = exif_obj
    if fmt == "JPEG":
        kwargs.update(quality=quality, subsampling=0)
    elif fmt == "WEBP":
        kwargs.update(quality=quality)
    elif fmt == "TIFF":
        kwargs.update(compression="tiff_deflate")
    return kwargs


def _write_tiff16(f: BinaryIO, u16: np.ndarray, icc: bytes | None) -> None:
    import tifffile  # installed with scikit-image

    buffer = io.BytesIO()  # tifffile wants a named file or a BytesIO, not our temporary file's descriptor
    tifffile.imwrite(
        buffer,
        u16,
        photometric="rgb" if u16.shape[2] >= 3 else "minisblack",
        extrasamples=["unassalpha"] if u16.shape[2] in (2, 4) else None,
        compression="zlib",
        iccprofile=icc,
        metadata=None,
    )
    f.write(buffer.getbuffer())


def write_npy(path: str | os.PathLike[str], array: np.ndarray, overwrite: bool = True) -> Path:
    """Save an array as .npy atomically (temporary file, then rename).

    Raises:
        ImageError: `path` exists and ``overwrite`` is False, or the write failed.
    """
    path = Path(path)
    with atomic_write(path, overwrite=overwrite) as f:
        np.save(f, np.asarray(array), allow_pickle=False)
    return path
