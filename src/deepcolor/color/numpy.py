"""The colour conversions on NumPy arrays, channel last: (H, W, 3) colour, (H, W) grey.

Same names and ranges as the tensor functions in `deepcolor.color`; any leading batch dimensions are allowed
((..., H, W, 3)). Float arrays keep their dtype (float16 is computed in float32); uint8 and uint16 are
accepted where the input range is [0, 1] (sRGB, linear RGB, HSV, YCbCr, grey) and scaled to [0, 1] float32.
Nothing here is differentiable: use the tensor functions for that.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from deepcolor.color import gray as _gray
from deepcolor.color import hsv as _hsv
from deepcolor.color import lab as _lab
from deepcolor.color import rgb as _rgb
from deepcolor.color import xyz as _xyz
from deepcolor.color import ycbcr as _ycbcr
from deepcolor.color import yuv as _yuv


def _to_float(image: np.ndarray, unit_range: bool) -> tuple[np.ndarray, np.dtype]:
    """-> (float32/float64 array, dtype to return)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"Input type is not a numpy.ndarray. Got {type(image)}")
    if image.dtype in (np.uint8, np.uint16) and unit_range:
        return image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max), np.dtype(np.float32)
    if image.dtype == np.float16:
        return image.astype(np.float32), image.dtype
    if image.dtype in (np.float32, np.float64):
        return image, image.dtype
    accepted = "float16/32/64, uint8, uint16" if unit_range else "float16/32/64"
    raise TypeError(f"Input dtype must be one of {accepted}. Got {image.dtype}")


def _convert(
    fn: Callable[[torch.Tensor], torch.Tensor],
    image: np.ndarray,
    in_channels: int = 3,
    out_channels: int = 3,
    unit_range: bool = False,
) -> np.ndarray:
    array, out_dtype = _to_float(image, unit_range)
    if in_channels == 3:
        if array.ndim < 3 or array.shape[-1] != 3:
            raise ValueError(f"Input must be an (H, W, 3) array. Got shape {array.shape}")
        tensor = torch.from_numpy(np.ascontiguousarray(array)).movedim(-1, -3)  # (..., 3, H, W)
    else:
        if array.ndim < 2:
            raise ValueError(f"Input must be an (H, W) array. Got shape {array.shape}")
        tensor = torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(-3)  # (..., 1, H, W)
    with torch.no_grad():
        out = fn(tensor)
    out = out.movedim(-3, -1) if out_channels == 3 else out.squeeze(-3)
    # torch's copy to channel-last is multi-threaded, numpy's is not.
    return out.contiguous().numpy().astype(out_dtype, copy=False)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) sRGB in [0, 1] -> (H, W, 3) linear RGB in [0, 1]."""
    return _convert(_rgb.srgb_to_linear, rgb, unit_range=True)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """(H, W, 3) linear RGB in [0, 1] -> (H, W, 3) sRGB in [0, 1] (no clipping)."""
    return _convert(_rgb.linear_to_srgb, linear, unit_range=True)


def rgb_to_xyz(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) sRGB in [0, 1] -> (H, W, 3) CIE XYZ (D65)."""
    return _convert(_xyz.rgb_to_xyz, rgb, unit_range=True)


def xyz_to_rgb(xyz: np.ndarray, clip: bool = False) -> np.ndarray:
    """(H, W, 3) CIE XYZ (D65) -> (H, W, 3) sRGB; `clip` clips to [0, 1]."""
    return _convert(lambda t: _xyz.xyz_to_rgb(t, clip=clip), xyz)


def xyz_to_lab(xyz: np.ndarray) -> np.ndarray:
    """(H, W, 3) CIE XYZ (D65) -> (H, W, 3) CIELab: L in [0, 100], a and b about [-128, 127]."""
    return _convert(_lab.xyz_to_lab, xyz)


def lab_to_xyz(lab: np.ndarray) -> np.ndarray:
    """(H, W, 3) CIELab -> (H, W, 3) CIE XYZ (D65)."""
    return _convert(_lab.lab_to_xyz, lab)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) sRGB in [0, 1] -> (H, W, 3) CIELab: L in [0, 100], a and b about [-128, 127]."""
    return _convert(_lab.rgb_to_lab, rgb, unit_range=True)


def lab_to_rgb(lab: np.ndarray, clip: bool = True) -> np.ndarray:
    """(H, W, 3) CIELab -> (H, W, 3) sRGB, clipped to [0, 1] unless `clip` is False."""
    return _convert(lambda t: _lab.lab_to_rgb(t, clip=clip), lab)


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) sRGB in [0, 1] -> (H, W, 3) HSV, each in [0, 1] (H = hue / 360 degrees)."""
    return _convert(_hsv.rgb_to_hsv, rgb, unit_range=True)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """(H, W, 3) HSV in [0, 1] -> (H, W, 3) sRGB in [0, 1]."""
    return _convert(_hsv.hsv_to_rgb, hsv, unit_range=True)


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) sRGB in [0, 1] -> (H, W, 3) YUV (BT.601): Y [0, 1], U [-0.436, 0.436], V [-0.615, 0.615]."""
    return _convert(_yuv.rgb_to_yuv, rgb, unit_range=True)


def yuv_to_rgb(yuv: np.ndarray) -> np.ndarray:
    """(H, W, 3) YUV (BT.601) -> (H, W, 3) sRGB (no clipping)."""
    return _convert(_yuv.yuv_to_rgb, yuv)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) sRGB in [0, 1] -> (H, W, 3) YCbCr (BT.601 full range, as JPEG), each in [0, 1]."""
    return _convert(_ycbcr.rgb_to_ycbcr, rgb, unit_range=True)


def ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    """(H, W, 3) YCbCr (BT.601 full range) in [0, 1] -> (H, W, 3) sRGB (no clipping)."""
    return _convert(_ycbcr.ycbcr_to_rgb, ycbcr, unit_range=True)


def rgb_to_gray(rgb: np.ndarray, method: str = "bt601") -> np.ndarray:
    """(H, W, 3) sRGB in [0, 1] -> (H, W) grey in [0, 1]; `method` is "bt601", "bt709" or "lightness"."""
    return _convert(lambda t: _gray.rgb_to_gray(t, method=method), rgb, out_channels=1, unit_range=True)


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """(H, W) grey in [0, 1] -> (H, W, 3) with R = G = B."""
    return _convert(_gray.gray_to_rgb, gray, in_channels=1, unit_range=True)


__all__ = [
    "gray_to_rgb",
    "hsv_to_rgb",
    "lab_to_rgb",
    "lab_to_xyz",
    "linear_to_srgb",
    "rgb_to_gray",
    "rgb_to_hsv",
    "rgb_to_lab",
    "rgb_to_xyz",
    "rgb_to_ycbcr",
    "rgb_to_yuv",
    "srgb_to_linear",
    "xyz_to_lab",
    "xyz_to_rgb",
    "ycbcr_to_rgb",
    "yuv_to_rgb",
]
