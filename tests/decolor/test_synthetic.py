"""The isoluminant test images really are isoluminant, in gamut and colourful."""

from __future__ import annotations

import numpy as np
from skimage.color import rgb2lab

from deepcolor.decolor.synthetic import gradient, in_gamut, isoluminant_set, patches, text


def _lab(image: np.ndarray) -> np.ndarray:
    return rgb2lab(image.astype(np.float64) / 255.0).reshape(-1, 3)


def test_every_image_of_the_set_has_one_lightness_and_many_hues():
    images = isoluminant_set(6, 48, seed=0)
    assert [name.split("_")[1] for name, _ in images] == ["patches", "text", "gradient"] * 2
    for _, image in images:
        assert image.shape == (48, 48, 3) and image.dtype == np.uint8
        lab = _lab(image)
        assert np.ptp(lab[:, 0]) < 1.5  # 8-bit rounding only
        chroma = np.hypot(lab[:, 1], lab[:, 2])
        assert chroma.min() > 15.0
        hues = np.degrees(np.arctan2(lab[:, 2], lab[:, 1]))
        assert np.ptp(np.unique(np.round(hues))) > 60.0


def test_kinds_and_gamut():
    assert len(np.unique(patches(40, n=4).reshape(-1, 3), axis=0)) == 16
    assert len(np.unique(text(40).reshape(-1, 3), axis=0)) == 2
    assert len(np.unique(gradient(40).reshape(-1, 3), axis=0)) > 20
    assert in_gamut(60.0, 25.0, np.arange(0, 360, 10))
    assert not in_gamut(95.0, 80.0, np.arange(0, 360, 10))
