"""deepcolor.decolorize takes and refuses the arrays that deepcolor.colorize does (one set of adapters,
`deepcolor.io.arrays`): float values outside [0, 1] are a ValueError naming the range, not a clipped image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepcolor import decolorize


@pytest.mark.parametrize(("lo", "hi", "span"), [(0.0, 255.0, r"\[0, 255\]"), (-1.0, 1.0, r"\[-1, 1\]")])
def test_float_arrays_and_tensors_outside_the_unit_range(lo, hi, span):
    rgb = np.linspace(lo, hi, 6 * 8 * 3, dtype=np.float32).reshape(6, 8, 3)
    with pytest.raises(ValueError, match=rf"image values span {span}"):
        decolorize(rgb, method="luma601")
    with pytest.raises(ValueError, match=rf"image values span {span}"):
        decolorize(torch.from_numpy(rgb).permute(2, 0, 1), method="luma601")


def test_integer_layouts_and_alpha_still_work():
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = 51
    out = decolorize(rgba, method="luma601")
    assert out.shape == (4, 5, 2) and out.dtype == np.uint8
    assert (out[..., 0] == 200).all() and (out[..., 1] == 51).all()
    grey = decolorize(np.full((3, 3), 0.5, np.float64), method="lcp")
    assert grey.dtype == np.float64 and np.allclose(grey, 0.5)
