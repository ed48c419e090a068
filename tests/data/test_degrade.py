from __future__ import annotations

import numpy as np
import pytest

from deepcolor.color.numpy import rgb_to_lab
from deepcolor.data.degrade import (
    TONES,
    FadeParams,
    degrade_scan,
    fade_print,
    random_fade,
    random_tone,
    tone_print,
)


def _photo(height: int = 48, width: int = 64) -> np.ndarray:
    """Smooth colour ramps: red across, green down, blue in a ring (every lightness has several colours)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    y, x = y / (height - 1), x / (width - 1)
    ring = 0.5 + 0.45 * np.cos(8.0 * np.hypot(x - 0.5, y - 0.5))
    return np.clip(np.stack([0.1 + 0.8 * x, 0.15 + 0.7 * y, ring], axis=-1), 0, 1).astype(np.float32)


@pytest.mark.parametrize("tone", list(TONES))
def test_a_toned_print_has_one_colour_per_lightness_in_its_tone(tone):
    photo = _photo()
    toned = tone_print(photo, tone)
    assert toned.shape == photo.shape and toned.dtype == np.float32
    assert np.allclose(toned * 255, np.round(toned * 255), atol=1e-3)  # 8-bit levels
    lab = rgb_to_lab(toned).reshape(-1, 3)
    # pixels of about the same L* have about the same a*b*
    order = np.argsort(lab[:, 0])
    neighbours = np.abs(np.diff(lab[order, 1:], axis=0)).max(axis=1)
    close = np.diff(lab[order, 0]) < 0.2
    assert np.percentile(neighbours[close], 99) < 2.5
    hue = np.degrees(np.arctan2(lab[:, 2].mean(), lab[:, 1].mean())) % 360
    expected = (TONES[tone].shadow_hue + TONES[tone].highlight_hue) / 2 % 360
    assert min(abs(hue - expected), 360 - abs(hue - expected)) < 25
    # strength scales the chroma; 0 gives grey
    assert np.hypot(*rgb_to_lab(tone_print(photo, tone, 0.0))[..., 1:].transpose(2, 0, 1)).max() < 1.5
    weak = np.hypot(*rgb_to_lab(tone_print(photo, tone, 0.5))[..., 1:].transpose(2, 0, 1)).mean()
    strong = np.hypot(*rgb_to_lab(tone_print(photo, tone, 1.5))[..., 1:].transpose(2, 0, 1)).mean()
    assert strong > 2 * weak


def test_tone_print_bad_input():
    with pytest.raises(ValueError, match="unknown tone"):
        tone_print(_photo(), "teal")
    with pytest.raises(ValueError, match="strength"):
        tone_print(_photo(), "sepia", -1.0)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        tone_print(np.zeros((4, 4)), "sepia")


def test_fading_follows_the_dyes():
    photo = _photo()
    # cyan dye (red channel) faded most, no stain, no flare: red rises most in the shadows
    faded = fade_print(photo, FadeParams(retained=(0.5, 0.9, 0.9), stain=(0, 0, 0), flare=0.0))
    gain = (faded - photo).reshape(-1, 3).mean(axis=0)
    assert gain[0] > 2 * max(gain[1], gain[2]) and gain[0] > 0.05
    # a yellow stain: blue falls most in the highlights
    white = np.full((8, 8, 3), 0.95, np.float32)
    stained = fade_print(white, FadeParams(retained=(1, 1, 1), stain=(0, 0.02, 0.15), flare=0.0))
    assert stained[..., 2].mean() < stained[..., 0].mean() - 0.05
    # flare lifts the blacks
    black = np.zeros((8, 8, 3), np.float32)
    assert fade_print(black, FadeParams(retained=(1, 1, 1), stain=(0, 0, 0), flare=0.05)).min() > 0.2
    with pytest.raises(ValueError, match="flare"):
        fade_print(photo, FadeParams(flare=1.0))


def test_random_fade_and_tone_are_reproducible_and_vary():
    photo = _photo()
    a, params_a = random_fade(photo, np.random.default_rng(3))
    b, params_b = random_fade(photo, np.random.default_rng(3))
    c, params_c = random_fade(photo, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert params_a == params_b and params_a != params_c
    assert min(params_a.retained[:2]) <= 0.65  # cyan or magenta fades first
    toned, name, strength = random_tone(photo, np.random.default_rng(5))
    assert name in TONES and 0.4 <= strength <= 1.5 and toned.shape == photo.shape


def test_degrade_scan_adds_grain_blur_and_jpeg():
    grey = np.repeat(_photo()[..., 1:2], 3, axis=2)
    rng = np.random.default_rng(0)
    clean = degrade_scan(grey, rng, grain=0.0, blur=0.0, jpeg_quality=None)
    np.testing.assert_allclose(clean, np.round(grey * 255) / 255, atol=1e-6)
    grainy = degrade_scan(grey, rng, grain=0.05, blur=0.0, jpeg_quality=None)
    assert 0.02 < float(np.std(grainy - clean)) < 0.08
    edge = np.full((16, 16, 3), 0.2, np.float32)
    edge[:, 8:] = 0.8
    soft = degrade_scan(edge, rng, grain=0.0, blur=2.0, jpeg_quality=None)
    assert 0.3 < soft[0, 7, 0] < 0.7 and soft[0, 0, 0] < 0.25  # the edge spread, the flat part kept
    compressed = degrade_scan(grey, rng, grain=0.05, blur=1.0, jpeg_quality=40)
    assert compressed.shape == grey.shape and compressed.dtype == np.float32
    cracked = degrade_scan(np.full((64, 64, 3), 0.3, np.float32), rng, 0.0, 0.0, None, cracks=3)
    assert (cracked > 0.8).any()
    with pytest.raises(ValueError, match="jpeg_quality"):
        degrade_scan(grey, rng, jpeg_quality=0)
