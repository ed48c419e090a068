"""`LoadedImage`, what `read_image` returns, and the tests for a grey image stored with three channels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_MAX_PIXELS = 100_000_000
GRAY_TOLERANCE = 2.0 / 255.0  # JPEG rounding alone moves a grey pixel's channels apart by a code or so


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
        is_gray: all three channels are equal within `GRAY_TOLERANCE` (always True for grey sources): the
            image shows no colour, whatever its file stores.
        path: the file, or None for an image read from bytes or a stream.
        format: the file format as Pillow names it ("JPEG", "PNG", ...).
        mode: the file's mode as Pillow names it ("RGB", "P", "I;16", "CMYK", ...), or for layouts Pillow
            has no mode for, the channels and sample type ("LA;16", "RGB;F").
        jpeg_quality: for a JPEG, the libjpeg quality it was most likely saved at (see `jpeg_quality`);
            None for other formats.
        name: what messages call the image: the path as given, the name passed for bytes or a stream, or
            ``"<memory>"``. Filled from `path` when left empty.
        channels_equal: the three channels of `rgb` are exactly equal (grey sources, and grey photos stored
            as RGB without noise), so that L* can be computed from one of them. Unlike `is_gray`, no
            tolerance: a shortcut must not change the result. False when not known.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    icc: bytes | None
    exif: bytes | None
    bit_depth: int
    is_gray: bool
    path: Path | None
    format: str
    mode: str
    jpeg_quality: int | None = None
    name: str = ""
    channels_equal: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            self.name = str(self.path) if self.path is not None else "<memory>"

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
    return gray_and_equal(rgb, tolerance)[0]


def gray_and_equal(rgb: np.ndarray, tolerance: float = GRAY_TOLERANCE) -> tuple[bool, bool]:
    """(R, G and B within `tolerance` everywhere, R, G and B exactly equal everywhere) for an (H, W, 3)
    image: `LoadedImage.is_gray` and `LoadedImage.channels_equal`. A colour image costs one pass over R - G,
    as `is_effectively_gray` alone did."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"Expected an (H, W, 3) image. Got shape {rgb.shape}")
    red_green = float(np.abs(rgb[..., 0] - rgb[..., 1]).max(initial=0.0))
    if red_green > tolerance:
        return False, False
    green_blue = float(np.abs(rgb[..., 1] - rgb[..., 2]).max(initial=0.0))
    return green_blue <= tolerance, red_green == 0.0 and green_blue == 0.0
