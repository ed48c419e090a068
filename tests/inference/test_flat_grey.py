"""Flat regions stay neutral: a uniform or smoothly graded grey image, at any level, stays grey with the
shipped default (a plain backdrop or a scanned page must not turn blue or sepia)."""

import numpy as np
import pytest

from deepcolor.color.numpy import rgb_to_lab

LEVELS = (0, 16, 48, 64, 100, 128, 150, 170, 200, 230, 255)
MAX_MEAN_CHROMA = 10.0


@pytest.fixture(scope="module")
def default():
    from deepcolor.inference import Colorizer

    return Colorizer("default", device="cpu")  # the weights ship with the package: never skipped


def _mean_chroma(rgb: np.ndarray) -> float:
    lab = rgb_to_lab(rgb.astype(np.float64))
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


@pytest.mark.parametrize("level", LEVELS)
def test_a_uniform_grey_image_stays_grey(default, level):
    grey = np.full((120, 180), level / 255.0, np.float32)
    assert _mean_chroma(default.colorize_array(grey, gray=True)) <= MAX_MEAN_CHROMA


@pytest.mark.parametrize(
    ("low", "high", "axis"), [(0.1, 0.9, 0), (0.3, 0.6, 1), (0.0, 1.0, 1), (0.45, 0.55, 0)]
)
def test_a_smooth_grey_ramp_stays_grey(default, low, high, axis):
    ramp = np.linspace(low, high, 200, dtype=np.float32)
    grey = np.tile(ramp[:, None] if axis == 0 else ramp[None, :], (1, 150) if axis == 0 else (150, 1))
    assert _mean_chroma(default.colorize_array(grey, gray=True)) <= MAX_MEAN_CHROMA


def test_a_radial_gradient_stays_grey(default):
    yy, xx = np.mgrid[0:160, 0:240]
    grey = (0.3 + 0.4 * np.hypot(yy - 80, xx - 120) / 144).astype(np.float32)
    assert _mean_chroma(default.colorize_array(grey, gray=True)) <= MAX_MEAN_CHROMA
