"""The batch entry: several images through the network in one pass, each result equal to the one-image
path's, one image's bad options failing that image alone."""

from __future__ import annotations

import numpy as np
import pytest

from deepcolor.inference.images import process_image, process_images
from deepcolor.inference.pipeline import Colorizer
from deepcolor.io import image_from_array


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return Colorizer("default", backend="torch")


def _photos() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:96, 0:128] / 128.0
    base = np.stack([yy, xx, 0.5 * (yy + xx)], axis=-1)
    photos = [base, base[:, ::-1], base[:64, :96] * 0.8]  # two share a render shape, one does not
    photos.append(np.clip(base.mean(axis=-1) + rng.normal(0, 0.02, base.shape[:2]), 0, 1))  # grey (H, W)
    return [np.asarray(p, dtype=np.float32) for p in photos]


def test_batch_equals_one_at_a_time(colorizer: Colorizer) -> None:
    photos = _photos()
    singles = [process_image(image_from_array(p), colorizer).rgb for p in photos]
    batched = process_images([image_from_array(p) for p in photos], colorizer, batch_size=4)
    for single, result in zip(singles, batched, strict=True):
        assert not isinstance(result, Exception)
        np.testing.assert_allclose(result.rgb, single, atol=1e-4)


def test_batch_calls_the_network_once_per_render_shape(colorizer: Colorizer) -> None:
    calls: list[int] = []
    predictor = colorizer.predictor
    original = type(predictor)

    class Counting(original):  # type: ignore[misc, valid-type]
        def __call__(self, l_norm, **conditions):  # type: ignore[no-untyped-def]
            calls.append(l_norm.shape[0])
            return original.__call__(self, l_norm, **conditions)

    predictor.__class__ = Counting
    try:
        photos = [_photos()[0]] * 5
        process_images([image_from_array(p) for p in photos], colorizer, batch_size=4)
    finally:
        predictor.__class__ = original
    assert calls == [4, 1]


def test_bad_hints_fail_their_image_only(colorizer: Colorizer) -> None:
    photos = _photos()[:2]
    results = process_images(
        [image_from_array(p) for p in photos],
        colorizer,
        per_image=[{"hints": {"points": [{"x": 5}]}, "hint_source": "a.json"}, {}],
    )
    assert isinstance(results[0], ValueError) and "a.json" in str(results[0])
    assert not isinstance(results[1], Exception) and results[1].rgb.shape == (96, 128, 3)


def test_hinted_image_in_a_batch_matches_alone(colorizer: Colorizer) -> None:
    photos = _photos()[:2]
    hints = {"points": [{"x": 10, "y": 10, "color": "#c02020"}]}
    alone = process_image(image_from_array(photos[0]), colorizer, hints=hints).rgb
    images = [image_from_array(p) for p in photos]
    results = process_images(images, colorizer, per_image=[{"hints": hints}, {}])
    np.testing.assert_allclose(results[0].rgb, alone, atol=1e-4)
