from __future__ import annotations

import numpy as np
import pytest

from deepcolor.data.degrade import TONES, degrade_scan, tone_print
from deepcolor.inference import Colorizer
from deepcolor.inference.images import is_warning, process_image
from deepcolor.inference.toned import analyse_tone, tone_name
from deepcolor.io import image_from_array

from .helpers import ConstantAb


def _photo(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """A colour 'photo': blobs of different hues at the same lightness on a textured background."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.empty((height, width, 3), np.float32)
    base = 0.35 + 0.3 * (x / width) + 0.05 * rng.standard_normal((height, width))
    rgb[:] = base[..., None]
    for k, colour in enumerate([(0.8, 0.2, 0.2), (0.2, 0.6, 0.2), (0.2, 0.3, 0.8), (0.8, 0.7, 0.1)]):
        cy, cx = height * (0.3 + 0.4 * (k // 2)), width * (0.25 + 0.5 * (k % 2))
        inside = (y - cy) ** 2 + (x - cx) ** 2 < (min(height, width) * 0.18) ** 2
        rgb[inside] = colour
    return np.clip(rgb, 0, 1)


@pytest.mark.parametrize("tone", list(TONES))
@pytest.mark.parametrize("strength", [0.5, 1.0, 1.4])
def test_toned_prints_are_recognised(tone, strength):
    analysis = analyse_tone(tone_print(_photo(), tone, strength))
    assert analysis.kind == "toned", analysis


def test_a_grainy_jpeg_of_a_toned_print_is_still_toned():
    toned = tone_print(_photo(240, 320), "sepia", 1.2)
    damaged = degrade_scan(toned, np.random.default_rng(0), grain=0.04, blur=0.8, jpeg_quality=40)
    analysis = analyse_tone(damaged)
    assert analysis.kind == "toned" and tone_name(analysis.hue) == "warm"
    assert tone_name(analyse_tone(tone_print(_photo(), "cyanotype")).hue) == "blue"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_colour_photos_are_colour_even_with_little_colour(seed):
    photo = _photo(seed=seed)
    assert analyse_tone(photo).kind == "colour"
    dull = 0.5 + 0.25 * (photo - 0.5)  # a dull, faded-looking colour photo is still colour
    assert analyse_tone(dull.astype(np.float32)).kind == "colour"


def test_grey_is_grey():
    grey = np.repeat(_photo()[..., :1], 3, axis=2)
    assert analyse_tone(grey).kind == "grey"
    with pytest.raises(ValueError, match="shape"):
        analyse_tone(np.zeros((8, 8)))


def test_the_pipeline_treats_a_toned_print_as_monochrome():
    colorizer = Colorizer(ConstantAb(a=0.0, b=0.3), device="cpu", render_size=64)
    photo = _photo()
    toned = tone_print(photo, "sepia")
    result = process_image(image_from_array(toned.copy()), colorizer, "colorize")
    assert len(result.notes) == 1 and result.notes[0].startswith("toned print (warm tone)")
    assert not is_warning(result.notes[0])
    colour = process_image(image_from_array(photo.copy()), colorizer, "colorize")
    assert is_warning(colour.notes[0]) and "deepcolor enhance" in colour.notes[0]
    # enhance colorizes a toned print (its L*), the same as colorize does, instead of keeping the tone
    enhanced = process_image(image_from_array(toned.copy()), colorizer, "enhance")
    np.testing.assert_allclose(enhanced.rgb, result.rgb, atol=1e-5)
    assert enhanced.notes[0].startswith("toned print") and "instead of strengthening" in enhanced.notes[0]
    assert np.abs(enhanced.rgb - toned).mean() > 0.02
