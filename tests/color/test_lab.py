"""CIELab against scikit-image (float64, 1e-6) and OpenCV (float32, its own approximation), round trips."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest
import skimage.color
import torch

import deepcolor.color as color

from .helpers import EDGE_LAB, EDGE_RGB, as_image, random_lab, random_rgb, to_numpy, to_tensor

TOL64 = 1e-6  # in L*, a*, b* units (and XYZ, sRGB units on the way back)
# OpenCV 5's float32 Lab is a fixed-point / table approximation: a and b come in steps of 1/32, and dark
# colours differ by up to ~0.4 from the exact formula (measured max 0.37 on 4096 random colours).
TOL_OPENCV_LAB = 0.5
TOL_OPENCV_LAB_TO_RGB = 1e-3


def _sk(fn, array: np.ndarray) -> np.ndarray:  # noqa: ANN001
    # skimage warns when f(Z) < 0 is clamped (out-of-gamut Lab); we clamp the same way, silently.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(array)


def _all_rgb() -> np.ndarray:
    """Every colour of a 33-level cube (0, 1/32, ..., 1) plus the edge colours: (1, N, 3)."""
    levels = np.linspace(0, 1, 33)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
    return np.concatenate([cube, as_image(EDGE_RGB)], axis=1)


@pytest.mark.parametrize("rgb", [random_rgb(), as_image(EDGE_RGB)], ids=["random", "edge"])
def test_rgb_to_lab_matches_skimage(rgb: np.ndarray) -> None:
    lab = to_numpy(color.rgb_to_lab(to_tensor(rgb)))
    np.testing.assert_allclose(lab, skimage.color.rgb2lab(rgb), rtol=0, atol=TOL64)


@pytest.mark.parametrize("rgb", [random_rgb(), as_image(EDGE_RGB)], ids=["random", "edge"])
def test_xyz_to_lab_matches_skimage(rgb: np.ndarray) -> None:
    xyz = skimage.color.rgb2xyz(rgb)
    lab = to_numpy(color.xyz_to_lab(to_tensor(xyz)))
    np.testing.assert_allclose(lab, skimage.color.xyz2lab(xyz), rtol=0, atol=TOL64)


def test_xyz_to_lab_at_the_companding_threshold() -> None:
    # skimage's threshold 0.008856 is (6/29)^3 = 0.0088565 rounded: values in between take the cube root.
    t = np.array([0.0, 0.008, 0.008855, 0.008856, 0.0088562, 0.0088564, 0.0088566, 0.009, 1.0])
    xyz = as_image(t[:, None] * color.D65_WHITE.numpy())
    lab = to_numpy(color.xyz_to_lab(to_tensor(xyz)))
    np.testing.assert_allclose(lab, skimage.color.xyz2lab(xyz), rtol=0, atol=TOL64)


@pytest.mark.parametrize("lab", [random_lab(), as_image(EDGE_LAB)], ids=["random", "edge"])
def test_lab_to_xyz_matches_skimage(lab: np.ndarray) -> None:
    xyz = to_numpy(color.lab_to_xyz(to_tensor(lab)))
    np.testing.assert_allclose(xyz, _sk(skimage.color.lab2xyz, lab), rtol=0, atol=TOL64)


@pytest.mark.parametrize("lab", [random_lab(), as_image(EDGE_LAB)], ids=["random", "edge"])
def test_lab_to_rgb_matches_skimage_out_of_gamut(lab: np.ndarray) -> None:
    rgb = to_numpy(color.lab_to_rgb(to_tensor(lab)))
    np.testing.assert_allclose(rgb, _sk(skimage.color.lab2rgb, lab), rtol=0, atol=TOL64)


def test_out_of_gamut_lab_is_clipped_unless_asked() -> None:
    lab = to_tensor(random_lab())
    clipped = color.lab_to_rgb(lab)
    assert clipped.min() == 0.0 and clipped.max() == 1.0
    unclipped = color.lab_to_rgb(lab, clip=False)
    assert unclipped.min() < -0.5 and unclipped.max() > 1.5
    torch.testing.assert_close(clipped, unclipped.clamp(0, 1), rtol=0, atol=0)


def test_known_values() -> None:
    rgb = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    lab = color.rgb_to_lab(rgb.T[:, :, None])[:, :, 0].T
    torch.testing.assert_close(lab[0], torch.zeros(3, dtype=torch.float64))
    assert lab[1, 0].item() == pytest.approx(100.0, abs=1e-9)
    assert lab[1, 1:].abs().max() < 0.01  # skimage's white point is not exactly the matrix's: a = -0.0025
    torch.testing.assert_close(
        lab[2], torch.tensor([53.24, 80.09, 67.20], dtype=torch.float64), atol=0.01, rtol=0
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_no_grad_fast_path_is_identical(dtype: torch.dtype) -> None:
    # Without autograd rgb_to_lab / lab_to_rgb reuse two buffers. On contiguous input the results are the
    # very same numbers; on other layouts the matrix product may round differently (last bit).
    rgb = to_tensor(np.concatenate([random_rgb((4, 16)), as_image(EDGE_RGB)], axis=0)).to(dtype).contiguous()
    lab = (
        to_tensor(np.concatenate([random_lab((4, len(EDGE_LAB))), as_image(EDGE_LAB)], axis=0))
        .to(dtype)
        .contiguous()
    )
    # A last-bit change in a matrix product, carried through the power laws: relative 1e-5 in float32.
    last_bit = 1e-5 if dtype == torch.float32 else 1e-12
    layouts = [
        (lambda x: x, 0.0),
        (lambda x: x.transpose(-1, -2), last_bit),
        (lambda x: x[..., ::2], last_bit),
    ]
    for layout, atol in layouts:
        image = layout(rgb)
        with torch.no_grad():
            fast = color.rgb_to_lab(image)
        recorded = color.rgb_to_lab(image.clone().requires_grad_(True))
        assert recorded.grad_fn is not None and fast.is_contiguous()
        torch.testing.assert_close(fast, recorded.detach(), rtol=atol, atol=atol)
        image = layout(lab)
        for clip in (True, False):
            with torch.inference_mode():
                fast = color.lab_to_rgb(image, clip=clip)
            recorded = color.lab_to_rgb(image.clone().requires_grad_(True), clip=clip)
            torch.testing.assert_close(fast, recorded.detach(), rtol=atol, atol=atol)


def test_no_grad_fast_path_leaves_the_input_alone() -> None:
    rgb = to_tensor(random_rgb())
    before = rgb.clone()
    lab = color.rgb_to_lab(rgb)
    assert torch.equal(rgb, before) and not lab.data_ptr() == rgb.data_ptr()
    lab_before = lab.clone()
    color.lab_to_rgb(lab)
    assert torch.equal(lab, lab_before)


def test_round_trip_float64() -> None:
    rgb = to_tensor(_all_rgb())
    # 5e-8 and not 1e-12 only because of the sRGB thresholds' mismatch at 0.04045 (see test_rgb.py).
    torch.testing.assert_close(color.lab_to_rgb(color.rgb_to_lab(rgb)), rgb, rtol=0, atol=5e-8)
    xyz = color.rgb_to_xyz(rgb)
    torch.testing.assert_close(color.lab_to_xyz(color.xyz_to_lab(xyz)), xyz, rtol=0, atol=1e-10)


def test_round_trip_float32() -> None:
    rgb = to_tensor(_all_rgb()).float()
    error = (color.lab_to_rgb(color.rgb_to_lab(rgb)) - rgb).abs().max().item()
    assert error <= 1e-4


def test_rgb_to_lab_equals_the_two_steps() -> None:
    rgb = to_tensor(random_rgb())
    torch.testing.assert_close(
        color.rgb_to_lab(rgb), color.xyz_to_lab(color.rgb_to_xyz(rgb)), rtol=0, atol=1e-10
    )
    lab = to_tensor(random_lab())
    two_steps = color.xyz_to_rgb(color.lab_to_xyz(lab), clip=True)
    torch.testing.assert_close(color.lab_to_rgb(lab), two_steps, rtol=0, atol=1e-10)


def test_lab_ranges_over_the_srgb_cube() -> None:
    lab = color.rgb_to_lab(to_tensor(_all_rgb()))
    l_channel, a, b = lab[0], lab[1], lab[2]
    assert l_channel.min() >= 0 and l_channel.max() <= 100 + 1e-9
    assert -87 < a.min() < -86 and 98 < a.max() < 99
    assert -108 < b.min() < -107 and 94 < b.max() < 95


def test_rgb_to_lab_matches_opencv_float32() -> None:
    rgb = np.random.default_rng(2).random((64, 64, 3), dtype=np.float32)
    expected = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    np.testing.assert_allclose(
        to_numpy(color.rgb_to_lab(to_tensor(rgb))), expected, rtol=0, atol=TOL_OPENCV_LAB
    )


def test_lab_to_rgb_matches_opencv_float32() -> None:
    rgb = np.random.default_rng(3).random((64, 64, 3), dtype=np.float32)
    lab = to_numpy(color.rgb_to_lab(to_tensor(rgb)))
    expected = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    np.testing.assert_allclose(
        to_numpy(color.lab_to_rgb(to_tensor(lab))), expected, atol=TOL_OPENCV_LAB_TO_RGB
    )


def test_lab_to_rgb8_is_the_rounded_float_result_but_for_rare_boundary_values():
    lab = torch.from_numpy(random_lab((300, 400), seed=3)).permute(2, 0, 1)[None].float()
    lab[:, 1:] *= 0.3  # mostly inside the gamut, with the clipped ones kept
    exact = np.floor(color.lab_to_rgb(lab.double()).numpy() * 255.0 + 0.5)
    codes = color.lab_to_rgb8(lab)
    assert codes.dtype == torch.uint8 and codes.shape == lab.shape
    difference = np.abs(codes.numpy().astype(np.float64) - exact)
    assert difference.max() <= 1
    assert (difference > 0).mean() < 2e-3  # one code off only within 0.013 of a code boundary
    grey = torch.zeros(1, 3, 1, 256, dtype=torch.float32)  # every grey level's L* gives back the level
    levels = torch.arange(256, dtype=torch.float64) / 255.0
    grey[0, 0, 0] = color.rgb_to_gray(levels.expand(1, 3, 1, -1), "lightness")[0, 0, 0].float() * 100
    assert torch.equal(color.lab_to_rgb8(grey)[0, 0, 0], torch.arange(256, dtype=torch.uint8))
    with pytest.raises(ValueError):
        color.lab_to_rgb8(torch.zeros(2, 5, 5))
    # computed in a caller's buffers (reused from frame to frame): the same codes
    work = torch.empty(lab.shape)
    assert torch.equal(color.lab_to_rgb8(lab.clone(), work=work), codes)
    with pytest.raises(ValueError, match="work must be"):
        color.lab_to_rgb8(lab, work=torch.empty(1, 3, 2, 2))
