"""The shared pieces: the streaming sRGB -> Lab against deepcolor.color, L* -> grey, the fitting copy."""

from __future__ import annotations

import numpy as np
import pytest

from deepcolor.color import numpy as color_np
from deepcolor.decolor._common import (
    band_lab,
    check_rgb,
    gray_from_lightness,
    pixel_pairs,
    row_bands,
    thumbnail,
)
from deepcolor.metrics.decolorization import gray_lightness


def test_band_lab_matches_deepcolor_color_for_uint8_and_float():
    rng = np.random.default_rng(0)
    rgb8 = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    rgb8[0, :4] = [[0, 0, 0], [255, 255, 255], [1, 2, 3], [255, 0, 0]]  # the dark (linear) branch too
    want = color_np.rgb_to_lab(rgb8.astype(np.float64) / 255.0)
    for source in (rgb8, rgb8.astype(np.float32) / 255.0):
        got = np.stack(band_lab(source), axis=-1)
        np.testing.assert_allclose(got, want, atol=2e-3)


def test_gray_from_lightness_inverts_the_lightness_of_greys():
    light = np.linspace(0.0, 100.0, 201, dtype=np.float32)
    grey = gray_from_lightness(light)
    assert grey.dtype == np.float32 and grey.min() >= 0.0 and grey.max() <= 1.0
    np.testing.assert_allclose(gray_lightness(grey), light, atol=2e-3)
    np.testing.assert_allclose(gray_from_lightness(np.array([-5.0, 120.0], np.float32)), [0.0, 1.0])


def test_thumbnail_is_an_area_average():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    small = thumbnail(rgb, 20)  # k = 1 ... a 3 x 3 box on exact multiples
    assert small.shape == (13, 20, 3)
    even = thumbnail(rgb[:39], 20)
    want = rgb[:39].reshape(13, 3, 20, 3, 3).mean(axis=(1, 3)) / 255.0
    np.testing.assert_allclose(even, want, atol=1e-9)
    np.testing.assert_allclose(thumbnail(rgb, 100), rgb / 255.0)  # small images are kept as they are
    big = rng.integers(0, 256, (900, 1300, 3), dtype=np.uint8)  # block sampling path
    t = thumbnail(big, 32)
    assert t.shape == (22, 32, 3)
    assert abs(t.mean() - big.mean() / 255.0) < 0.01


def test_pairs_and_bands():
    first, second = pixel_pairs(3, 4, seed=0)
    assert first.size == 3 * 3 + 2 * 4 + 12
    assert sorted(second[-12:]) == list(range(12))  # one random partner per pixel: a permutation
    bands = list(row_bands(10, 7, pixels=20))
    assert bands[0] == slice(0, 2) and bands[-1].stop == 10
    assert sum(b.stop - b.start for b in bands) == 10


def test_check_rgb_refuses_bad_arrays():
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        check_rgb(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="dtype"):
        check_rgb(np.zeros((4, 4, 3), dtype=np.int64))
    assert check_rgb(np.zeros((2, 2, 3), np.uint16)).dtype == np.float32


def test_fit_pairs_are_not_the_metrics_pairs():
    # The E-score protocol draws its random partners from default_rng(seed); a fit on an image at the
    # metric's size must not see those very pairs (it would be fitted on what it is scored on).
    from deepcolor.metrics.decolorization import _pair_indices

    for seed in (0, 1):
        fit_first, fit_second = pixel_pairs(64, 64, seed=seed)
        metric_first, metric_second = _pair_indices(64, 64, seed)
        n = 64 * 64
        assert np.array_equal(fit_first, metric_first)  # the same neighbours, in the same order
        assert (fit_second[-n:] == metric_second[-n:]).mean() < 0.01  # different random partners


def test_pairs_with_offsets():
    offsets = ((1, -1), (0, 2))
    first, second = pixel_pairs(3, 4, seed=0, offsets=offsets)
    n = 3 * 4
    want = {
        (y * 4 + x, (y + dy) * 4 + x + dx)
        for dy, dx in offsets
        for y in range(3)
        for x in range(4)
        if y + dy < 3 and 0 <= x + dx < 4
    }
    assert first.size - n == len(want) == 6 + 6
    assert set(zip(first[:-n].tolist(), second[:-n].tolist(), strict=True)) == want
    assert sorted(second[-n:]) == list(range(n))  # then the random partners, as with the default offsets


@pytest.mark.parametrize(("height", "width"), [(1, 1), (1, 4), (4, 1), (2, 2), (3, 5)])
def test_pairs_with_offsets_larger_than_the_image(height, width):
    offsets = ((2, 0), (0, 2), (1, -1), (5, -7), (0, 9))
    first, second = pixel_pairs(height, width, seed=0, offsets=offsets)
    n = height * width
    fy, fx = np.divmod(first[:-n], width)
    sy, sx = np.divmod(second[:-n], width)
    assert set(zip((sy - fy).tolist(), (sx - fx).tolist(), strict=True)) <= set(offsets)
    want = sum(max(height - dy, 0) * max(width - abs(dx), 0) for dy, dx in offsets)
    assert first.size - n == want
