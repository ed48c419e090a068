"""The checks every conversion shares: shapes, dtype and device, bad input, module forms, batching,
float64 gradcheck away from each conversion's kinks, and finite gradients at black, white and grey."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pytest
import torch
from torch import nn

import deepcolor.color as color
from deepcolor.color.lab import D65_WHITE, T_FROM_LINEAR
from deepcolor.color.xyz import XYZ_FROM_LINEAR

from .helpers import far_from, grad_input, sample_pixels

N_GRAD = 12  # pixels per gradcheck: (1, C, 4, 3)


def _u(power: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda p: p**power


def _srgb_ok(p: np.ndarray) -> np.ndarray:
    return far_from(p, (0.04045,), 2e-3)


def _rgb_lab_ok(p: np.ndarray) -> np.ndarray:
    # Off the sRGB kink and the Lab kink (t = XYZ / white at 0.008856), inside (0, 1) so no clipping.
    linear = np.where(p > 0.04045, ((p + 0.055) / 1.055) ** 2.4, p / 12.92)
    t = linear @ T_FROM_LINEAR.numpy().T
    return _srgb_ok(p) & far_from(t, (0.008856,), 2e-4) & far_from(p, (0.0, 1.0), 1e-3)


def _grad_srgb() -> np.ndarray:
    return sample_pixels(N_GRAD, 0, 1, lambda p: _srgb_ok(p**1.5)) ** 1.5


def _grad_linear() -> np.ndarray:
    return sample_pixels(N_GRAD, 0, 1, lambda p: far_from(p**3, (0.0031308,), 2e-4)) ** 3


def _grad_xyz_for_rgb() -> np.ndarray:
    return _grad_linear() @ XYZ_FROM_LINEAR.numpy().T


def _grad_t() -> np.ndarray:
    return sample_pixels(N_GRAD, 0, 1, lambda p: far_from(p**3, (0.008856,), 2e-4)) ** 3


def _grad_xyz_for_lab() -> np.ndarray:
    return _grad_t() * D65_WHITE.numpy()


def _grad_lab_from_xyz() -> np.ndarray:
    with torch.no_grad():
        return color.xyz_to_lab(grad_input(_grad_xyz_for_lab())).movedim(-3, -1).reshape(-1, 3).numpy()


def _grad_rgb_for_lab() -> np.ndarray:
    return sample_pixels(N_GRAD, 0, 1, lambda p: _rgb_lab_ok(p**1.5)) ** 1.5


def _grad_lab_for_rgb() -> np.ndarray:
    with torch.no_grad():
        return color.rgb_to_lab(grad_input(_grad_rgb_for_lab())).movedim(-3, -1).reshape(-1, 3).numpy()


def _grad_rgb_for_hsv() -> np.ndarray:
    # Distinct channels: S > 0, no tie for the largest or smallest channel (hexcone edges), no hue wrap.
    def ok(p: np.ndarray) -> np.ndarray:
        return np.all(np.abs(p - np.roll(p, 1, axis=1)) > 0.02, axis=1)

    return sample_pixels(N_GRAD, 0, 1, ok)


def _grad_hsv() -> np.ndarray:
    def ok(p: np.ndarray) -> np.ndarray:
        sextant_distance = np.abs(p[:, 0] * 6 - np.round(p[:, 0] * 6))
        return (sextant_distance > 0.02) & (p[:, 1] > 0.05) & (p[:, 2] > 0.05)

    return sample_pixels(N_GRAD, 0, 1, ok)


def _grad_rgb_for_lightness() -> np.ndarray:
    def ok(p: np.ndarray) -> np.ndarray:
        linear = np.where(p > 0.04045, ((p + 0.055) / 1.055) ** 2.4, p / 12.92)
        return _srgb_ok(p) & far_from(linear @ XYZ_FROM_LINEAR.numpy()[1], (0.008856,), 2e-4)

    return sample_pixels(N_GRAD, 0, 1, lambda p: ok(p**1.5)) ** 1.5


def _grad_any(channels: int = 3) -> np.ndarray:
    return np.random.default_rng(0).random((N_GRAD, channels))


@dataclass(frozen=True)
class Conversion:
    fn: Callable[[torch.Tensor], torch.Tensor]
    module: nn.Module
    in_channels: int
    out_channels: int
    grad_pixels: Callable[[], np.ndarray]  # (N, in_channels) float64, away from the kinks


CONVERSIONS: dict[str, Conversion] = {
    "srgb_to_linear": Conversion(color.srgb_to_linear, color.SrgbToLinear(), 3, 3, _grad_srgb),
    "linear_to_srgb": Conversion(color.linear_to_srgb, color.LinearToSrgb(), 3, 3, _grad_linear),
    "rgb_to_xyz": Conversion(color.rgb_to_xyz, color.RgbToXyz(), 3, 3, _grad_srgb),
    "xyz_to_rgb": Conversion(color.xyz_to_rgb, color.XyzToRgb(), 3, 3, _grad_xyz_for_rgb),
    "xyz_to_lab": Conversion(color.xyz_to_lab, color.XyzToLab(), 3, 3, _grad_xyz_for_lab),
    "lab_to_xyz": Conversion(color.lab_to_xyz, color.LabToXyz(), 3, 3, _grad_lab_from_xyz),
    "rgb_to_lab": Conversion(color.rgb_to_lab, color.RgbToLab(), 3, 3, _grad_rgb_for_lab),
    "lab_to_rgb": Conversion(color.lab_to_rgb, color.LabToRgb(), 3, 3, _grad_lab_for_rgb),
    "lab_to_rgb_noclip": Conversion(
        partial(color.lab_to_rgb, clip=False), color.LabToRgb(clip=False), 3, 3, _grad_lab_for_rgb
    ),
    "rgb_to_hsv": Conversion(color.rgb_to_hsv, color.RgbToHsv(), 3, 3, _grad_rgb_for_hsv),
    "hsv_to_rgb": Conversion(color.hsv_to_rgb, color.HsvToRgb(), 3, 3, _grad_hsv),
    "rgb_to_yuv": Conversion(color.rgb_to_yuv, color.RgbToYuv(), 3, 3, _grad_any),
    "yuv_to_rgb": Conversion(color.yuv_to_rgb, color.YuvToRgb(), 3, 3, _grad_any),
    "rgb_to_ycbcr": Conversion(color.rgb_to_ycbcr, color.RgbToYcbcr(), 3, 3, _grad_any),
    "ycbcr_to_rgb": Conversion(color.ycbcr_to_rgb, color.YcbcrToRgb(), 3, 3, _grad_any),
    "rgb_to_gray_bt601": Conversion(color.rgb_to_gray, color.RgbToGray(), 3, 1, _grad_any),
    "rgb_to_gray_bt709": Conversion(
        partial(color.rgb_to_gray, method="bt709"), color.RgbToGray("bt709"), 3, 1, _grad_any
    ),
    "rgb_to_gray_lightness": Conversion(
        partial(color.rgb_to_gray, method="lightness"),
        color.RgbToGray("lightness"),
        3,
        1,
        _grad_rgb_for_lightness,
    ),
    "gray_to_rgb": Conversion(color.gray_to_rgb, color.GrayToRgb(), 1, 3, partial(_grad_any, 1)),
}
NAMES = list(CONVERSIONS)
FROM_RGB = [n for n in NAMES if n.startswith(("rgb_to", "srgb_to"))]


def test_every_exported_function_is_covered() -> None:
    functions = {name for name in color.__all__ if name[0].islower()}
    covered = {
        c.fn.func.__name__ if isinstance(c.fn, partial) else c.fn.__name__ for c in CONVERSIONS.values()
    }
    assert functions == covered


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("batch", [(), (2,), (2, 3)], ids=["CHW", "BCHW", "BTCHW"])
def test_shapes(name: str, batch: tuple[int, ...]) -> None:
    conversion = CONVERSIONS[name]
    image = torch.rand(*batch, conversion.in_channels, 4, 5)
    out = conversion.fn(image)
    assert out.shape == (*batch, conversion.out_channels, 4, 5)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_batch_items_are_independent(name: str) -> None:
    conversion = CONVERSIONS[name]
    image = torch.rand(2, 3, conversion.in_channels, 4, 5, dtype=torch.float64)
    out = conversion.fn(image)
    for i in range(2):
        for j in range(3):
            torch.testing.assert_close(out[i, j], conversion.fn(image[i, j]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_non_contiguous_input(name: str) -> None:
    conversion = CONVERSIONS[name]
    channels_last = torch.rand(2, 4, 5, conversion.in_channels, dtype=torch.float64).permute(0, 3, 1, 2)
    strided = torch.rand(2, conversion.in_channels, 4, 10, dtype=torch.float64)[..., ::2]
    for image in (channels_last, strided):
        assert not image.is_contiguous() or conversion.in_channels == 1
        torch.testing.assert_close(
            conversion.fn(image), conversion.fn(image.contiguous()), rtol=0, atol=1e-12
        )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_dtype_kept(name: str, dtype: torch.dtype) -> None:
    conversion = CONVERSIONS[name]
    image = torch.rand(1, conversion.in_channels, 3, 4, dtype=torch.float64)
    out = conversion.fn(image.to(dtype))
    assert out.dtype == dtype
    # Low precision computes the same thing, roughly (Lab values are up to ~100, hence the scale).
    scale = conversion.fn(image).abs().amax().clamp(min=1.0).item()
    tolerance = {torch.float16: 1e-2, torch.bfloat16: 5e-2, torch.float32: 1e-5, torch.float64: 0}[dtype]
    torch.testing.assert_close(out.double(), conversion.fn(image), rtol=0, atol=tolerance * scale)


@pytest.mark.parametrize("name", NAMES)
def test_device_kept_meta(name: str) -> None:
    # The meta device runs no kernels but checks that every constant follows the input's device.
    conversion = CONVERSIONS[name]
    out = conversion.fn(torch.empty(2, conversion.in_channels, 3, 4, device="meta"))
    assert out.device.type == "meta"
    assert out.shape == (2, conversion.out_channels, 3, 4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", NAMES)
def test_device_kept_cuda(name: str) -> None:
    conversion = CONVERSIONS[name]
    image = torch.rand(2, conversion.in_channels, 3, 4, dtype=torch.float64)
    out = conversion.fn(image.cuda())
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), conversion.fn(image), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_module_matches_function(name: str) -> None:
    conversion = CONVERSIONS[name]
    image = torch.rand(2, conversion.in_channels, 3, 4)
    torch.testing.assert_close(conversion.module(image), conversion.fn(image), rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_wrong_channel_count(name: str) -> None:
    conversion = CONVERSIONS[name]
    wrong = 4 if conversion.in_channels == 3 else 3
    image = torch.rand(2, wrong, 3, 4)
    expected = f"(*, {conversion.in_channels}, H, W). Got torch.Size([2, {wrong}, 3, 4])"
    with pytest.raises(ValueError, match=re.escape(expected)):
        conversion.fn(image)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(3,), (3, 4)], ids=["1-D", "2-D"])
def test_too_few_dimensions(name: str, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"Input size must have a shape of"):
        CONVERSIONS[name].fn(torch.rand(*shape))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool])
def test_non_float_tensor(name: str, dtype: torch.dtype) -> None:
    conversion = CONVERSIONS[name]
    image = torch.zeros(1, conversion.in_channels, 3, 4, dtype=dtype)
    with pytest.raises(TypeError, match=rf"floating point type. Got {dtype}"):
        conversion.fn(image)


@pytest.mark.parametrize("name", NAMES)
def test_not_a_tensor(name: str) -> None:
    with pytest.raises(TypeError, match="not a torch.Tensor. Got <class 'numpy.ndarray'>"):
        CONVERSIONS[name].fn(np.zeros((1, CONVERSIONS[name].in_channels, 3, 4)))


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck(name: str) -> None:
    conversion = CONVERSIONS[name]
    image = grad_input(conversion.grad_pixels())
    assert image.shape == (1, conversion.in_channels, N_GRAD // 3, 3)
    assert torch.autograd.gradcheck(conversion.fn, (image,), eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", FROM_RGB)
@pytest.mark.parametrize("value", [0.0, 0.5, 1.0], ids=["black", "grey", "white"])
def test_gradient_finite_at_singular_points(name: str, value: float) -> None:
    # Black sits on the cube root / gamma at 0, greys on the undefined hue, white on the clip edge.
    image = torch.full((1, 3, 2, 2), value, dtype=torch.float64, requires_grad=True)
    CONVERSIONS[name].fn(image).sum().backward()
    assert image.grad is not None and torch.isfinite(image.grad).all()


@pytest.mark.parametrize("name", ["lab_to_rgb", "lab_to_xyz", "linear_to_srgb", "xyz_to_lab", "hsv_to_rgb"])
def test_gradient_finite_at_zero(name: str) -> None:
    image = torch.zeros(1, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    CONVERSIONS[name].fn(image).sum().backward()
    assert image.grad is not None and torch.isfinite(image.grad).all()


def test_gradient_at_black_is_the_linear_slope() -> None:
    # The sRGB and Lab linear segments, not a clamped pow: d linear / d srgb = 1 / 12.92 at 0.
    image = torch.zeros(1, 3, 1, 1, dtype=torch.float64, requires_grad=True)
    color.srgb_to_linear(image).sum().backward()
    torch.testing.assert_close(image.grad, torch.full_like(image, 1 / 12.92))
