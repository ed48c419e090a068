"""LCP, the default method: isoluminant contrast kept (where luma601 loses it), determinism, streaming."""

from __future__ import annotations

import numpy as np
import pytest

from deepcolor.decolor import lcp as lcp_module
from deepcolor.decolor.lcp import LcpMapping, apply_lcp, fit_lcp, lcp
from deepcolor.decolor.methods import lightness, luma601
from deepcolor.decolor.synthetic import patches, text
from deepcolor.metrics.decolorization import escore, gray_lightness


def _patch_means(grey: np.ndarray, n: int) -> np.ndarray:
    light = gray_lightness(grey)
    cell = grey.shape[0] // n
    return np.array([light[i * cell:(i + 1) * cell, j * cell:(j + 1) * cell].mean()
                     for i in range(n) for j in range(n)])


def _pairwise(values: np.ndarray) -> np.ndarray:
    return np.abs(np.subtract.outer(values, values))[np.triu_indices(values.size, 1)]


def test_isoluminant_patches_kept_by_lcp_lost_by_luma601():
    image = patches(64, n=2, light=60.0, chroma=30.0, seed=3)
    ours, luma = lcp(image), luma601(image)
    assert escore(image, ours) > 0.9
    assert escore(image, luma) < 0.4
    # Grey differences between the four patches, in L*: luma601 leaves them a few units apart at most,
    # lcp separates every pair clearly.
    assert _pairwise(_patch_means(luma, 2)).max() < 8.0
    assert _pairwise(_patch_means(ours, 2)).min() > 8.0


def test_isoluminant_text_readable_with_lcp():
    image = text(64, light=55.0, chroma=30.0, hue_fg=20.0, hue_bg=200.0, word="Aa")
    mask = np.any(image != image[0, 0], axis=2)  # the letters
    ours, luma = lcp(image), luma601(image)
    assert escore(image, ours) > 0.9
    assert escore(image, luma) < escore(image, ours) - 0.4
    for grey, low, high in ((ours, 15.0, 100.0), (luma, 0.0, 8.0)):  # letters vs background, in L*
        light = gray_lightness(grey)
        assert low < abs(light[mask].mean() - light[~mask].mean()) < high


def test_keeps_more_contrast_than_lightness_on_a_colourful_image(rgb_image):
    ours = lcp(rgb_image)
    assert escore(rgb_image, ours) > escore(rgb_image, lightness(rgb_image))
    # ... and still reads as the photo's lightness (no inversion): strongly correlated with L*.
    corr = np.corrcoef(gray_lightness(ours).ravel(), gray_lightness(lightness(rgb_image)).ravel())[0, 1]
    assert corr > 0.8


def test_deterministic_and_same_for_uint8_and_float(rgb_image):
    rgb8 = np.round(rgb_image * 255).astype(np.uint8)
    a, b = lcp(rgb8), lcp(rgb8)
    np.testing.assert_array_equal(a, b)
    c = lcp(rgb8.astype(np.float32) / 255.0)
    assert np.abs(a - c).max() < 2e-3


def test_streaming_bands_and_threads_do_not_change_the_result(monkeypatch):
    image = np.concatenate([patches(48, n=3, seed=1), text(48)], axis=1)
    mapping = fit_lcp(image)
    whole = apply_lcp(image, mapping)
    monkeypatch.setattr("deepcolor.decolor._common.BAND_PIXELS", 200)
    monkeypatch.setattr(lcp_module, "row_bands", lambda h, w: __import__(
        "deepcolor.decolor._common", fromlist=["row_bands"]).row_bands(h, w, pixels=200))
    np.testing.assert_array_equal(apply_lcp(image, mapping), whole)
    np.testing.assert_array_equal(apply_lcp(image, mapping, workers=2), whole)


def test_fit_is_done_on_a_small_copy(monkeypatch):
    seen = []
    original = lcp_module.lab_of

    def spy(rgb):
        seen.append(rgb.shape)
        return original(rgb)

    monkeypatch.setattr(lcp_module, "lab_of", spy)
    fit_lcp(np.zeros((400, 300, 3), np.uint8) + np.arange(300, dtype=np.uint8)[None, :, None] % 200)
    assert seen == [(lcp_module.FIT_SIZE, lcp_module.FIT_SIZE * 3 // 4, 3)]


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (2, 2), (3, 200)])
def test_tiny_and_thin_images(shape):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    grey = lcp(image)
    assert grey.shape == shape and np.isfinite(grey).all()


def test_grey_image_gives_the_identity_mapping():
    grey = np.repeat(np.linspace(0, 1, 50, dtype=np.float32)[None, :, None], 3, axis=2).repeat(10, 0)
    mapping, identity = fit_lcp(grey), LcpMapping.identity()
    assert mapping.gain == identity.gain
    for name in ("mu", "linear", "tiles"):
        np.testing.assert_array_equal(getattr(mapping, name), getattr(identity, name))


@pytest.mark.data
def test_real_photos_keep_more_contrast_than_lightness_and_luma(data_dir):
    from deepcolor.io import read_image

    photos = sorted((data_dir / "val" / "bsd100").glob("*.png"))[:3]
    if not photos:
        pytest.skip("no BSD100 photos")
    gains = []
    for path in photos:
        rgb = np.rint(read_image(path).rgb * 255).astype(np.uint8)
        ours = escore(rgb, lcp(rgb))
        gains.append(ours - max(escore(rgb, lightness(rgb)), escore(rgb, luma601(rgb))))
    assert min(gains) > 0.0 and np.mean(gains) > 0.01


def test_full_resolution_pass_is_the_fitted_formula(rgb_image):
    # The streamed pass folds the coefficients into tables over f(X), f(Y), f(Z) and maps L* to grey
    # through a table: it must give what the formula in the module docstring gives.
    from deepcolor.decolor._common import band_lab, gray_from_lightness
    from deepcolor.decolor.lcp import _grey_of_copy

    rgb8 = np.round(rgb_image * 255).astype(np.uint8)
    mapping = fit_lcp(rgb8)
    assert np.abs(mapping.tiles).max() > 0  # a real local part
    lab = np.stack(band_lab(rgb8), axis=-1).astype(np.float64)
    want = gray_from_lightness(np.clip(_grey_of_copy(mapping, lab), 0, 100).astype(np.float32))
    np.testing.assert_allclose(apply_lcp(rgb8, mapping), want.reshape(rgb8.shape[:2]), atol=1e-4)


def _noisy_colour_field(seed: int, size: int = 64) -> np.ndarray:
    """A smooth random colour field with pixel noise: neighbouring colours differ at every distance."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((6, 6, 3))
    rows = np.linspace(0, 5, size)
    field = np.stack([np.stack([np.interp(rows, np.arange(6), coarse[:, j, c]) for j in range(6)], 1)
                      for c in range(3)], 2)  # (size, 6, 3): interpolated down the rows
    field = np.stack([np.stack([np.interp(rows, np.arange(6), field[i, :, c]) for c in range(3)], 1)
                      for i in range(size)])  # (size, size, 3)
    noisy = field * 255 + rng.integers(-12, 13, field.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def _offset_escore(rgb: np.ndarray, grey: np.ndarray, offsets: tuple[tuple[int, int], ...]) -> float:
    """The metric's E-score over the pixel pairs at the given offsets only (no random partners)."""
    from deepcolor.color.numpy import rgb_to_lab
    from deepcolor.decolor._common import pixel_pairs
    from deepcolor.metrics.decolorization import TAUS, ContrastPairs

    h, w = grey.shape
    first, second = pixel_pairs(h, w, 0, offsets)
    first, second = first[: -h * w], second[: -h * w]
    lab = rgb_to_lab(rgb / 255.0).reshape(-1, 3)
    delta = np.linalg.norm(lab[first] - lab[second], axis=1)
    pairs = ContrastPairs((h, w), (h, w), first, second, delta, None, np.asarray(TAUS, dtype=np.float64))
    return pairs.score(grey).mean_escore


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_images_refined_per_pixel(seed):
    image = _noisy_colour_field(seed)
    mapped = apply_lcp(image, fit_lcp(image))  # the mapping alone, as for a photo
    refined = lcp(image)
    assert escore(image, refined) > escore(image, mapped) + 0.01
    # also at distances the refinement is not fitted on (it fits every pair within distance 2)
    unseen = ((0, 3), (3, 0), (1, 2), (2, 1), (1, -2), (2, -1))
    assert _offset_escore(image, refined, unseen) > _offset_escore(image, mapped, unseen) + 0.005


def test_images_larger_than_the_fitting_copy_are_not_refined():
    image = _noisy_colour_field(0, size=lcp_module.FIT_SIZE + 1)
    np.testing.assert_array_equal(lcp(image), apply_lcp(image, fit_lcp(image)))


def test_conjugate_gradients_solves_a_positive_definite_system():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(30, 30))
    a = m @ m.T + 30 * np.eye(30)
    b = rng.normal(size=30)
    x = lcp_module._conjugate_gradients(lambda v: a @ v, b, np.diag(a).copy(), np.zeros(30), 60)
    exact = np.linalg.solve(a, b)
    assert np.linalg.norm(x - exact) < 1e-3 * np.linalg.norm(exact)  # it stops at a residual of 1e-4 |b|
    assert np.linalg.norm(exact) > 0.01


@pytest.mark.parametrize("shape", [(1, 5), (5, 1), (2, 3), (3, 80), (64, 7)])
def test_thin_and_tiny_images(shape):
    image = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    grey = lcp(image)
    assert grey.shape == shape and grey.dtype == np.float32
    assert np.isfinite(grey).all() and grey.min() >= 0.0 and grey.max() <= 1.0
