"""CCPR, CCFR and the E-score on small images whose answer is known by hand."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2lab

from deepcolor.metrics.decolorization import (
    TAUS,
    contrast_pairs,
    contrast_scores,
    escore,
    gray_lightness,
)


def _neutral_for_lightness(light: float) -> float:
    """The sRGB grey value whose CIE L* is `light` (bisection on gray_lightness)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if gray_lightness(np.array([[mid]]))[0, 0] < light else (lo, mid)
    return (lo + hi) / 2


def _two_halves(left: tuple[float, ...], right: tuple[float, ...], w: int = 8) -> np.ndarray:
    rgb = np.empty((w, 2 * w, 3))
    rgb[:, :w] = left
    rgb[:, w:] = right
    return rgb


def test_gray_lightness_matches_scikit_image():
    g = np.linspace(0.0, 1.0, 11)[None, :]
    want = rgb2lab(np.repeat(g[..., None], 3, axis=-1))[..., 0]
    np.testing.assert_allclose(gray_lightness(g), want, atol=1e-8)


def test_identical_grey_of_a_grey_image_is_perfect():
    rng = np.random.default_rng(0)
    grey = rng.uniform(0.0, 1.0, (20, 30))
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    s = contrast_scores(rgb, grey, size=None)
    np.testing.assert_allclose(s.ccpr, 1.0)
    np.testing.assert_allclose(s.ccfr, 1.0)
    assert s.mean_escore == pytest.approx(1.0)


def test_two_patches_known_delta_and_grey_step():
    # Two flat halves: the only non-zero pairs are the boundary neighbours and the random pairs that cross.
    # Colour: pure lightness step from L* 40 to L* 50 (delta = 10). Grey: a 6 L* step.
    g40, g50, g46 = (_neutral_for_lightness(v) for v in (40.0, 50.0, 46.0))
    rgb = _two_halves((g40,) * 3, (g50,) * 3)
    grey = np.where(np.arange(16)[None, :] < 8, g40, g46) * np.ones((8, 1))
    s = contrast_scores(rgb, grey, size=None)
    taus = np.asarray(TAUS)
    # CCPR: pairs with delta = 10 >= tau exist for tau <= 10; they keep a 6 step, so kept for tau <= 6.
    want_ccpr = np.where(taus <= 6, 1.0, np.where(taus <= 10, 0.0, 1.0))  # tau > 10: no colour pairs -> 1
    np.testing.assert_allclose(s.ccpr, want_ccpr, atol=1e-6)
    # CCFR: the grey invents nothing (6 < 10), so 1 everywhere.
    np.testing.assert_allclose(s.ccfr, 1.0)
    e = 2 * want_ccpr / (want_ccpr + 1.0)
    assert s.mean_escore == pytest.approx(e.mean(), abs=1e-6)


def test_invented_contrast_lowers_ccfr():
    # A flat colour image (delta = 0 for every pair) with a grey step of 20 L*: every visible grey pair is
    # invented, so CCFR = 0 for tau < 20, and CCPR = 1 (nothing to preserve): E = 0 there.
    g = _neutral_for_lightness(50.0)
    rgb = np.full((8, 16, 3), g)
    grey = np.where(np.arange(16)[None, :] < 8, _neutral_for_lightness(40.0), _neutral_for_lightness(60.0))
    grey = grey * np.ones((8, 1))
    s = contrast_scores(rgb, grey, size=None)
    np.testing.assert_allclose(s.ccpr, 1.0)
    np.testing.assert_allclose(s.ccfr, 0.0, atol=1e-12)
    assert s.mean_escore == pytest.approx(0.0)


def test_isoluminant_colours_lost_by_a_flat_grey():
    # Red and green of the same L* (about 54): delta is large, the flat grey keeps nothing.
    lab = np.array([[[54.0, 60.0, 40.0]], [[54.0, -50.0, 45.0]]])
    from skimage.color import lab2rgb

    rgb_pair = lab2rgb(lab)[:, 0]
    rgb = _two_halves(tuple(rgb_pair[0]), tuple(rgb_pair[1]))
    flat = np.full((8, 16), _neutral_for_lightness(54.0))
    s = contrast_scores(rgb, flat, size=None)
    np.testing.assert_allclose(s.ccpr, 0.0)  # every tau <= 15 < delta has pairs, none kept
    np.testing.assert_allclose(s.ccfr, 1.0)
    assert s.mean_escore == pytest.approx(0.0)
    step = np.where(np.arange(16)[None, :] < 8, _neutral_for_lightness(30.0), _neutral_for_lightness(70.0))
    assert escore(rgb, step * np.ones((8, 1)), size=None) == pytest.approx(1.0)


def test_resize_to_metric_size_and_pair_count():
    rgb = np.random.default_rng(1).uniform(0, 1, (300, 600, 3))
    pairs = contrast_pairs(rgb, size=256)
    assert pairs.metric_shape == (128, 256)
    h, w = pairs.metric_shape
    assert pairs.first.size == h * (w - 1) + (h - 1) * w + h * w  # right, down, one random per pixel
    small = contrast_pairs(rgb[:64, :64])
    assert small.metric_shape == (64, 64)  # never enlarged


def test_uint8_and_float_inputs_agree_and_scores_are_deterministic():
    rng = np.random.default_rng(2)
    rgb8 = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    grey8 = rgb8[..., 1]
    a = contrast_scores(rgb8, grey8)
    b = contrast_scores(rgb8 / 255.0, grey8 / 255.0)
    np.testing.assert_allclose(a.escore, b.escore)
    c = contrast_scores(rgb8, grey8)
    np.testing.assert_array_equal(a.escore, c.escore)


def test_bad_shapes_are_value_errors():
    rgb = np.zeros((8, 8, 3))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        contrast_scores(np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(ValueError, match="shape"):
        contrast_scores(rgb, np.zeros((8, 9)))
    with pytest.raises(ValueError, match="dtype"):
        contrast_scores(rgb.astype(np.int32), np.zeros((8, 8)))
