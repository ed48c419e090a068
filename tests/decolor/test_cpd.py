"""CPD (Lu, Xu and Jia 2012, our implementation): contrast on isoluminant images, the fit itself."""

from __future__ import annotations

import numpy as np
import pytest

from deepcolor.decolor.cpd import _monomials, cpd, fit_cpd
from deepcolor.decolor.methods import luma601
from deepcolor.decolor.synthetic import gradient, patches
from deepcolor.metrics.decolorization import escore


def test_keeps_isoluminant_contrast():
    for image in (patches(64, n=2, seed=3), gradient(64)):
        assert escore(image, cpd(image)) > 0.85
        assert escore(image, luma601(image)) < 0.4


def test_fit_is_a_deterministic_polynomial(rgb_image):
    w = fit_cpd(rgb_image)
    assert w.shape == (9,)
    np.testing.assert_array_equal(w, fit_cpd(rgb_image))
    grey = cpd(rgb_image)
    # The output is the polynomial, stretched to [0, 1] by its minimum and maximum.
    raw = _monomials(rgb_image.astype(np.float64)) @ w
    np.testing.assert_allclose(grey, (raw - raw.min()) / (raw.max() - raw.min()), atol=1e-4)
    assert grey.min() == 0.0 and grey.max() == pytest.approx(1.0, abs=1e-6)


def test_grey_input_has_no_fit():
    grey = np.repeat(np.linspace(0, 1, 30)[None, :, None], 3, axis=2).repeat(8, 0)
    assert fit_cpd(grey) is None
