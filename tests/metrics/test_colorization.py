"""Colorization metrics against known answers, scikit-image and the published CIEDE2000 test pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.color import deltaE_ciede2000
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from deepcolor.metrics import auc_ab, ciede2000, colorfulness, psnr, quantize_8bit, ssim


def _random_rgb(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _to_uint8_hwc(rgb: torch.Tensor) -> np.ndarray:
    return (quantize_8bit(rgb) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


# ---------------------------------------------------------------------------------------------- quantize_8bit


def test_quantize_8bit_levels_and_clipping() -> None:
    x = torch.tensor([-0.3, 0.0, 0.6 / 255, 0.4 / 255, 0.31, 1.0, 1.7], dtype=torch.float64)
    q = quantize_8bit(x)
    assert torch.allclose(q * 255, torch.round(q * 255))
    assert q.min() == 0 and q.max() == 1
    assert q[2].item() == pytest.approx(1 / 255) and q[3] == 0
    assert q[4].item() == pytest.approx(79 / 255)  # 79.05 -> 79


# ------------------------------------------------------------------------------------------------------- psnr


def test_psnr_identical_is_infinite_or_capped() -> None:
    rgb = _random_rgb(2, 3, 8, 8)
    assert torch.isinf(psnr(rgb, rgb)).all()
    assert torch.equal(psnr(rgb, rgb, max_db=100.0), torch.full((2,), 100.0, dtype=rgb.dtype))


@pytest.mark.parametrize("levels", [1, 4, 40])
def test_psnr_known_constant_offset(levels: int) -> None:
    # Every value off by `levels` 8-bit steps: MSE = levels^2 -> PSNR = 20 log10(255 / levels).
    target = torch.full((1, 3, 6, 5), 100 / 255, dtype=torch.float64)
    pred = target + levels / 255
    assert psnr(pred, target).item() == pytest.approx(20 * math.log10(255 / levels), abs=1e-9)


def test_psnr_half_pixels_wrong() -> None:
    target = torch.zeros(3, 4, 4, dtype=torch.float64)
    pred = target.clone()
    pred[:, :2] = 10 / 255  # half the values off by 10 levels: MSE = 50
    assert psnr(pred, target).item() == pytest.approx(10 * math.log10(255**2 / 50), abs=1e-9)


def test_psnr_matches_skimage_on_uint8_and_batches() -> None:
    a, b = _random_rgb(2, 3, 16, 12, seed=1), _random_rgb(2, 3, 16, 12, seed=2)
    ours = psnr(a, b)
    assert ours.shape == (2,)
    for i in range(2):
        ref = peak_signal_noise_ratio(_to_uint8_hwc(b[i]), _to_uint8_hwc(a[i]), data_range=255)
        assert ours[i].item() == pytest.approx(ref, abs=1e-9)


def test_psnr_clips_out_of_range_values() -> None:
    target = torch.ones(1, 3, 4, 4)
    assert torch.isinf(psnr(target + 0.5, target)).all()


# ------------------------------------------------------------------------------------------------------- ssim


def test_ssim_identical_is_one() -> None:
    rgb = _random_rgb(2, 3, 20, 17)
    assert torch.allclose(ssim(rgb, rgb), torch.ones(2, dtype=rgb.dtype), atol=1e-12)


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-9), (torch.float32, 2e-5)])
def test_ssim_matches_skimage_wang_settings(dtype: torch.dtype, tol: float) -> None:
    truth = _random_rgb(3, 32, 24, seed=3)
    # A blurred, shifted and noisy copy: a realistic, not-too-small difference.
    noisy = (truth.roll(1, dims=-1) * 0.7 + 0.3 * _random_rgb(3, 32, 24, seed=4)).clamp(0, 1)
    ref = structural_similarity(
        _to_uint8_hwc(truth), _to_uint8_hwc(noisy), gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, data_range=255, channel_axis=-1,
    )
    ours = ssim(noisy.to(dtype), truth.to(dtype)).item()
    assert ours == pytest.approx(ref, abs=tol)
    assert ours < 0.9  # the copy really differs


def test_ssim_grey_channel_and_batch_shape() -> None:
    a, b = _random_rgb(2, 4, 1, 12, 12, seed=5), _random_rgb(2, 4, 1, 12, 12, seed=6)
    out = ssim(a, b)
    assert out.shape == (2, 4)
    ref = structural_similarity(
        _to_uint8_hwc(a[1, 2])[..., 0], _to_uint8_hwc(b[1, 2])[..., 0], gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, data_range=255,
    )
    assert out[1, 2].item() == pytest.approx(ref, abs=1e-9)


def test_ssim_too_small_image() -> None:
    with pytest.raises(ValueError, match="at least 11 x 11"):
        ssim(torch.zeros(3, 10, 30), torch.zeros(3, 10, 30))


# -------------------------------------------------------------------------------------------------- ciede2000

# Some of the 34 test pairs published by Sharma, Wu and Dalal (2005), Table 1: L1 a1 b1 L2 a2 b2 dE00.
# They exercise the hue wrap-around, the mean-hue rules, near-neutral colours and the rotation term.
SHARMA_PAIRS = [
    (50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425),
    (50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461),
    (50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492),
    (50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000),
    (60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644),
    (22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373),
    (90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381),
    (2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082),
]


def _pairs_as_images(rows: np.ndarray, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    # (N, 7) -> two (3, 1, N) Lab "images" so that the pairs run through the batched code path.
    lab1 = torch.as_tensor(rows[:, 0:3].T.copy(), dtype=dtype)[:, None, :]
    lab2 = torch.as_tensor(rows[:, 3:6].T.copy(), dtype=dtype)[:, None, :]
    return lab1, lab2


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_ciede2000_sharma_published_pairs(dtype: torch.dtype) -> None:
    rows = np.array(SHARMA_PAIRS)
    lab1, lab2 = _pairs_as_images(rows, dtype)
    ours = ciede2000(lab1, lab2)[0].double().numpy()
    # The table is given to 4 decimals.
    np.testing.assert_allclose(ours, rows[:, 6], atol=5e-5 if dtype == torch.float64 else 2e-4)
    # The formula is symmetric in its two colours.
    np.testing.assert_allclose(ciede2000(lab2, lab1)[0].double().numpy(), ours, atol=1e-4)


def test_ciede2000_matches_skimage_on_random_and_edge_colours() -> None:
    gen = torch.Generator().manual_seed(7)
    n = 4000
    lab1 = torch.stack([torch.rand(n, generator=gen, dtype=torch.float64) * 100,
                        torch.rand(n, generator=gen, dtype=torch.float64) * 256 - 128,
                        torch.rand(n, generator=gen, dtype=torch.float64) * 256 - 128])
    spread = torch.tensor([[5.0], [20.0], [20.0]], dtype=torch.float64)
    lab2 = lab1 + torch.randn(3, n, generator=gen, dtype=torch.float64) * spread
    # Edge cases: greys (zero chroma on one or both sides), identical colours, opposite hues.
    lab1[:, :4] = torch.tensor([[50.0, 0, 0], [30.0, 0, 0], [60.0, 20, 30], [40.0, 10, -10]]).T
    lab2[:, :4] = torch.tensor([[70.0, 0, 0], [30.0, 15, 15], [60.0, 20, 30], [40.0, -10, 10]]).T
    ours = ciede2000(lab1.view(3, 40, 100), lab2.view(3, 40, 100)).flatten().numpy()
    ref = deltaE_ciede2000(lab1.T.numpy(), lab2.T.numpy())
    np.testing.assert_allclose(ours, ref, atol=1e-8)
    assert ours[2] == 0.0


def test_ciede2000_shapes_and_bad_input() -> None:
    lab = torch.zeros(2, 5, 3, 4, 6)
    assert ciede2000(lab, lab).shape == (2, 5, 4, 6)
    with pytest.raises(ValueError, match=r"\(\*, 3, H, W\)"):
        ciede2000(torch.zeros(2, 4, 4), torch.zeros(2, 4, 4))
    with pytest.raises(ValueError, match="same shape"):
        ciede2000(torch.zeros(3, 4, 4), torch.zeros(3, 4, 5))
    with pytest.raises(TypeError, match="floating-point"):
        ciede2000(torch.zeros(3, 4, 4, dtype=torch.int64), torch.zeros(3, 4, 4, dtype=torch.int64))


# ----------------------------------------------------------------------------------------------- colorfulness


def test_colorfulness_grey_is_zero() -> None:
    grey = _random_rgb(2, 1, 9, 9).expand(2, 3, 9, 9)
    assert torch.allclose(colorfulness(grey), torch.zeros(2, dtype=grey.dtype), atol=1e-9)


def test_colorfulness_uniform_pure_red() -> None:
    # rg = 255, yb = 127.5 everywhere: no spread, M = 0.3 * sqrt(255^2 + 127.5^2).
    red = torch.zeros(3, 4, 4, dtype=torch.float64)
    red[0] = 1.0
    assert colorfulness(red).item() == pytest.approx(0.3 * math.hypot(255.0, 127.5), abs=1e-9)


def test_colorfulness_red_and_green_halves() -> None:
    # Half red, half green: rg = +-255 (mean 0, std 255), yb = 127.5 (std 0): M = 255 + 0.3 * 127.5.
    image = torch.zeros(3, 2, 6, dtype=torch.float64)
    image[0, :, :3] = 1.0
    image[1, :, 3:] = 1.0
    assert colorfulness(image).item() == pytest.approx(255.0 + 0.3 * 127.5, abs=1e-9)


def test_colorfulness_orders_saturation() -> None:
    base = _random_rgb(3, 16, 16, seed=8)
    grey = base.mean(dim=0, keepdim=True)
    dull = grey + 0.3 * (base - grey)
    values = colorfulness(torch.stack([dull, base]))
    assert values[0] < values[1]
    # Scaling the deviation from grey by s scales M exactly by s when the grey part is channel-equal.
    assert values[0].item() == pytest.approx(0.3 * values[1].item(), rel=1e-9)


# ----------------------------------------------------------------------------------------------------- auc_ab


def test_auc_exact_is_one_and_far_is_zero() -> None:
    ab = torch.randn(2, 2, 5, 5, dtype=torch.float64) * 30
    assert torch.allclose(auc_ab(ab, ab), torch.ones(2, dtype=ab.dtype))
    far = ab + torch.tensor([150.0, 0.0], dtype=ab.dtype).view(1, 2, 1, 1)
    assert torch.allclose(auc_ab(far, ab), torch.zeros(2, dtype=ab.dtype))


def test_auc_constant_error_and_zhang_sweep() -> None:
    truth = torch.zeros(2, 4, 4, dtype=torch.float64)
    pred = truth.clone()
    pred[0] = 30.0
    pred[1] = 40.0  # error 50 everywhere: the curve is 0 below 50 and 1 above, area (150 - 50) / 150
    assert auc_ab(pred, truth).item() == pytest.approx(2 / 3, abs=1e-12)
    # Against the discrete sweep of the paper (thresholds 0, 1, ..., 150) on a spread of errors.
    gen = torch.Generator().manual_seed(9)
    pred = torch.randn(2, 30, 30, generator=gen, dtype=torch.float64) * 50
    err = pred.norm(dim=0).flatten()
    thresholds = torch.linspace(0, 150, 15001, dtype=torch.float64)
    curve = (err[None, :] <= thresholds[:, None]).double().mean(dim=1)
    swept = torch.trapezoid(curve, thresholds) / 150
    assert auc_ab(pred, torch.zeros_like(pred)).item() == pytest.approx(swept.item(), abs=1e-4)


def test_auc_bad_input() -> None:
    with pytest.raises(ValueError, match=r"\(\*, 2, H, W\)"):
        auc_ab(torch.zeros(3, 4, 4), torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="positive"):
        auc_ab(torch.zeros(2, 4, 4), torch.zeros(2, 4, 4), max_threshold=0)


def test_false_colour_counts_saturated_paint_on_neutral_truth_only() -> None:
    from deepcolor.metrics import false_colour

    truth = torch.zeros(2, 2, 4, 5)
    truth[:, 0, :2] = 40.0  # the top two rows are saturated in the truth: never counted
    pred = torch.zeros(2, 2, 4, 5)
    pred[0, 1, 2, :2] = 35.0  # 2 of the 10 neutral pixels painted with chroma 35
    pred[0, 1, 3, :1] = 25.0  # chroma 25: not saturated
    pred[0, 0, :2] = -50.0  # wrong colour where the truth is saturated: not a blotch
    pred[1, 0, 2:, :] = 31.0  # every neutral pixel painted
    share = false_colour(pred, truth)
    assert share.shape == (2,)
    assert share[0].item() == pytest.approx(0.2) and share[1].item() == pytest.approx(1.0)
    assert false_colour(torch.full((1, 2, 3, 3), 50.0), torch.full((1, 2, 3, 3), 50.0)).item() == 0.0
