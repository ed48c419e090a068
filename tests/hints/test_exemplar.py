"""Exemplar hints: a reference photo's colours carried to the regions of the target that match them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data

from deepcolor.color import rgb_to_lab
from deepcolor.color.numpy import lab_to_rgb as lab_to_rgb_np
from deepcolor.color.numpy import rgb_to_lab as rgb_to_lab_np
from deepcolor.hints.exemplar import MAX_HINTS, exemplar_hint_map, match_reference
from deepcolor.inference.guidance import exemplar_hints, guidance_conditions
from deepcolor.inference.images import process_image
from deepcolor.inference.pipeline import Colorizer
from deepcolor.io import image_from_array
from deepcolor.normalization import AB_SCALE


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return Colorizer("default", backend="torch")


def _photo() -> np.ndarray:
    return np.asarray(data.coffee()[::2, ::2], dtype=np.float32) / 255.0  # (200, 300, 3)


def _grey(rgb: np.ndarray) -> np.ndarray:
    lab = rgb_to_lab_np(rgb.astype(np.float64))
    lab[..., 1:] = 0
    return lab_to_rgb_np(lab).astype(np.float32)


def _lab(rgb: np.ndarray) -> torch.Tensor:
    return rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None])


def test_a_photo_matches_itself_everywhere_with_its_own_colours(colorizer: Colorizer) -> None:
    lab = _lab(_photo())
    encoder = colorizer.predictor.module.encoder
    with torch.inference_mode():
        ab, confidence = match_reference(encoder, lab[:, :1], lab[:, :1], lab[:, 1:])
    assert confidence.shape == ab.shape[-2:]
    assert float((confidence > 0).float().mean()) > 0.9
    truth = torch.nn.functional.adaptive_avg_pool2d(lab[:, 1:], ab.shape[-2:])[0]
    assert float((ab - truth).abs().mean()) < 3.0  # a*b* units


def test_an_unrelated_photo_matches_almost_nowhere(colorizer: Colorizer) -> None:
    target = _lab(_photo())
    other = _lab(np.asarray(data.astronaut()[::2, ::2], dtype=np.float32) / 255.0)
    encoder = colorizer.predictor.module.encoder
    with torch.inference_mode():
        _, confidence = match_reference(encoder, target[:, :1], other[:, :1], other[:, 1:])
    assert float((confidence > 0).float().mean()) < 0.05


def test_hint_map_takes_the_most_confident_spaced_cells() -> None:
    ab = torch.stack([torch.full((6, 8), 20.0), torch.full((6, 8), -10.0)])
    confidence = torch.zeros(6, 8)
    confidence[1, 1], confidence[1, 2], confidence[4, 6] = 0.9, 0.95, 0.8
    out = exemplar_hint_map(ab, confidence, 60, 80)
    mask = out[2] > 0
    from scipy import ndimage

    _, count = ndimage.label(mask)
    assert count == 2  # (1, 1) is too close to the more confident (1, 2)
    assert np.allclose(out[0][mask] * AB_SCALE, 20.0) and np.allclose(out[1][mask] * AB_SCALE, -10.0)
    assert exemplar_hint_map(ab, torch.ones(6, 8), 60, 80)[2].sum() > 0
    assert MAX_HINTS >= 1


def test_mirrored_reference_brings_the_colours_back(colorizer: Colorizer) -> None:
    rgb = _photo()
    grey = _grey(rgb)
    mirrored = np.ascontiguousarray(rgb[20:180, ::-1][:, 30:270])
    auto = process_image(image_from_array(grey), colorizer).rgb
    guided = process_image(image_from_array(grey), colorizer, reference=mirrored).rgb
    error_auto = float((_lab(auto)[:, 1:] - _lab(rgb)[:, 1:]).abs().mean())
    error_guided = float((_lab(guided)[:, 1:] - _lab(rgb)[:, 1:]).abs().mean())
    assert error_guided < 0.8 * error_auto


def test_unrelated_reference_leaves_the_automatic_result(colorizer: Colorizer) -> None:
    rgb = _photo()
    other = np.asarray(data.astronaut()[::2, ::2], dtype=np.float32) / 255.0
    height, width = rgb.shape[:2]
    matched = exemplar_hints(colorizer, _grey(rgb), other)
    assert matched is not None and matched.shape == (1, 3, height, width)
    assert not bool(matched[:, 2].any())
    conditions = guidance_conditions(colorizer, height, width, reference=other, target=_grey(rgb))
    assert conditions == {}  # neither hints nor the other photo's palette
    auto = process_image(image_from_array(_grey(rgb)), colorizer).rgb
    guided = process_image(image_from_array(_grey(rgb)), colorizer, reference=other).rgb
    np.testing.assert_array_equal(guided, auto)


def test_user_points_win_over_exemplar_hints(colorizer: Colorizer) -> None:
    rgb = _photo()
    height, width = rgb.shape[:2]
    points = [(150, 100, "#0000ff")]
    conditions = guidance_conditions(colorizer, height, width, points, rgb, target=_grey(rgb))
    hints = conditions["hints"][0]
    assert hints[2, 100, 150] == 1 and hints[1, 100, 150] < 0  # blue: b* < 0, the user's point kept
    assert float(hints[2].sum()) > float(hints[2, 95:106, 145:156].sum())  # exemplar hints elsewhere
