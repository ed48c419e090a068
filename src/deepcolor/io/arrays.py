"""Image arrays in memory: the dtype scaling and the alpha split and join that every entry point taking NumPy
images shares (the Python API, `decolorize`, the writers), so that they accept and refuse the same arrays.

Layouts: (H, W) or (H, W, 1) grey, (H, W, 2) grey + alpha, (H, W, 3) RGB, (H, W, 4) RGBA. Dtypes: uint8
(0..255), uint16 (0..65535), or float in [0, 1]. A float array outside [0, 1] (by more than
`UNIT_RANGE_SLACK`, one 8-bit code) is refused with the range it holds: 0..255 values in a float array, or
a [-1, 1] network output, are a mistake that clipping would turn into a white or black image.
"""

from __future__ import annotations

import numpy as np

from deepcolor.io.loaded import GRAY_TOLERANCE, LoadedImage, gray_and_equal

UNIT_RANGE_SLACK = 1.0 / 255.0
_INTEGER_SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_LAYOUT_MODES = ("L", "LA", "RGB", "RGBA")  # by channel count, as Pillow names them


def unit_float(array: np.ndarray, name: str = "image", *, check_range: bool = True) -> np.ndarray:
    """An image's values as floats in [0, 1]: uint8 / 255, uint16 / 65535, bool as 0 / 1, floats as they are.

    Args:
        array: any shape.
        name: what error messages call the array ("image", "alpha", ...).
        check_range: refuse float values outside [0, 1] (beyond `UNIT_RANGE_SLACK`, which is clipped) and
            return a float32 copy. False: float arrays come back as they are (no copy; NaN is still refused),
            for writers that clip while they quantise.

    Returns:
        float32 for integer and bool input (a new array); a float32 copy, or with ``check_range=False``
        `array` itself, for float input.

    Raises:
        ValueError: another dtype; NaN (or infinite) values; with `check_range`, values outside [0, 1],
            naming the range found.
    """
    a = np.asarray(array)
    if a.dtype == np.bool_:
        return a.astype(np.float32)
    scale = _INTEGER_SCALES.get(a.dtype)
    if scale is not None:
        return a.astype(np.float32) / np.float32(scale)
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name} must be float in [0, 1], uint8 or uint16. Got dtype {a.dtype}")
    if not check_range:
        if np.isnan(a).any():
            raise ValueError(f"{name} holds NaN values")
        return a
    check_unit_range(a, name)
    return np.clip(a, 0.0, 1.0, dtype=np.float32)


def check_unit_range(array: np.ndarray, name: str = "image") -> None:
    """Refuse a float image that is not in [0, 1] (beyond `UNIT_RANGE_SLACK`); integer arrays pass.

    Raises:
        ValueError: NaN or infinite values, or values outside the range, naming the range found.
    """
    a = np.asarray(array)
    if not np.issubdtype(a.dtype, np.floating):
        return
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    if a.size:
        lo, hi = float(a.min()), float(a.max())
        if lo < -UNIT_RANGE_SLACK or hi > 1.0 + UNIT_RANGE_SLACK:
            raise ValueError(
                f"{name} values span [{lo:g}, {hi:g}]; float images must be in [0, 1] "
                "(divide 0..255 values by 255, or pass a uint8 array)"
            )


def split_alpha(array: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Check an image array's layout and dtype, and take its alpha off.

    Args:
        array: (H, W), (H, W, 1), (H, W, 2), (H, W, 3) or (H, W, 4); uint8, uint16 or float.

    Returns:
        (colour: (H, W) grey or (H, W, 3), in `array`'s own dtype, a view of it; alpha: (H, W) float32 in
        [0, 1], or None when the layout has none).

    Raises:
        ValueError: another dtype or layout, no pixels; a float alpha outside [0, 1] or with NaN.
    """
    a = np.asarray(array)
    if not (a.dtype in _INTEGER_SCALES or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"Expected a uint8, uint16 or float image. Got dtype {a.dtype}")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or 0 in a.shape[:2]:
        raise ValueError(f"Expected an (H, W) or (H, W, C) image with C in 1..4. Got shape {np.shape(array)}")
    alpha = None
    if a.shape[2] in (2, 4):
        alpha = unit_float(a[:, :, -1], "alpha")
        a = a[:, :, :-1]
    return (a[:, :, 0] if a.shape[2] == 1 else a), alpha


def join_alpha(color: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """(H, W, C) colour and (H, W) alpha -> (H, W, C + 1); the colour as it is when `alpha` is None."""
    if alpha is None:
        return color
    return np.concatenate([color, alpha[:, :, None].astype(color.dtype, copy=False)], axis=2)


def from_unit_float(array: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """Floats in [0, 1] -> `dtype`: uint8 / uint16 clipped and rounded to the nearest code, floats cast."""
    dtype = np.dtype(dtype)
    scale = _INTEGER_SCALES.get(dtype)
    if scale is not None:
        return np.rint(np.clip(array, 0.0, 1.0) * scale).astype(dtype)
    return np.asarray(array).astype(dtype, copy=False)


def image_from_array(
    array: np.ndarray, name: str = "<array>", gray_tolerance: float = GRAY_TOLERANCE
) -> LoadedImage:
    """An image array -> a `LoadedImage`, as `read_image` gives for a file (no ICC, no EXIF).

    Args:
        array: a layout and dtype that `split_alpha` takes; float values in [0, 1].
        name: what messages call the image (`LoadedImage.name`).
        gray_tolerance: as for `read_image`.

    Returns:
        A `LoadedImage` whose `rgb` and `alpha` are new float32 arrays (never views of `array`), with
        `bit_depth` 8, 16 or 32 after the dtype, `format` "" and `mode` after the layout ("L", "RGBA;16",
        "RGB;F", ...).

    Raises:
        ValueError: see `split_alpha` and `unit_float`.
    """
    a = np.asarray(array)
    color, alpha = split_alpha(a)
    values = unit_float(color)  # a new float32 array
    if values.ndim == 2:
        rgb = np.repeat(values[:, :, None], 3, axis=2)
        is_gray = channels_equal = True
    else:
        rgb = np.ascontiguousarray(values)
        is_gray, channels_equal = gray_and_equal(rgb, gray_tolerance)
    channels = (1 if color.ndim == 2 else 3) + (alpha is not None)
    bits = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(a.dtype, 32)
    mode = _LAYOUT_MODES[channels - 1] + {8: "", 16: ";16"}.get(bits, ";F")
    return LoadedImage(
        rgb=rgb,
        alpha=alpha,
        icc=None,
        exif=None,
        bit_depth=bits,
        is_gray=is_gray,
        path=None,
        format="",
        mode=mode,
        name=name,
        channels_equal=channels_equal,
    )
