from __future__ import annotations

import numpy as np
import pytest
import torch

from deepcolor.color import rgb_to_lab
from deepcolor.inference import Colorizer
from deepcolor.inference.enhance import blend_chroma, blend_weight, clahe_lightness, enhance_array

from .helpers import ConstantAb


def _lab(rgb: np.ndarray) -> torch.Tensor:
    return rgb_to_lab(torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None])


def _three_parts() -> np.ndarray:
    """Columns 0-39 neutral grey, 40-79 a dull, faded green, 80-119 a vivid red: (40, 120, 3) float32."""
    rgb = np.empty((40, 120, 3), dtype=np.float32)
    rgb[:, :40] = (0.50, 0.50, 0.50)
    rgb[:, 40:80] = (0.47, 0.53, 0.47)
    rgb[:, 80:] = (0.85, 0.15, 0.12)
    return rgb


def test_blend_weight_is_high_where_dull_and_zero_where_vivid():
    ab_pred = torch.tensor([30.0, 40.0]).view(1, 2, 1, 1).expand(1, 2, 1, 3)  # chroma 50
    ab_orig = torch.tensor([[0.0, 15.0, 60.0], [0.0, 20.0, 0.0]]).view(1, 2, 1, 3)  # grey, faded, vivid
    weight = blend_weight(ab_orig, ab_pred, strength=0.8)[0, 0, 0]
    assert weight[0] == pytest.approx(0.8)  # grey original: full strength
    assert 0.0 < weight[1] < 0.8  # faded: partly
    assert weight[2] == 0.0  # more vivid than predicted: untouched
    with pytest.raises(ValueError, match="strength"):
        blend_weight(ab_orig, ab_pred, strength=1.5)


def test_vivid_areas_are_kept_dull_ones_gain_chroma_in_their_own_hue_and_grey_ones_take_the_prediction():
    rgb = _three_parts()
    colorizer = Colorizer(ConstantAb(a=0.0, b=0.4), device="cpu", render_size=60)  # predicts yellow, b* = 44
    out = enhance_array(colorizer, rgb.copy(), strength=1.0, mode="blend")
    lab_in, lab_out = _lab(rgb), _lab(out)
    torch.testing.assert_close(lab_out[:, 0], lab_in[:, 0], atol=0.05, rtol=0)  # L* kept everywhere
    grey, dull, vivid = (slice(4, 34), slice(46, 74), slice(88, 120))  # away from the borders between parts
    # Vivid red: unchanged.
    np.testing.assert_allclose(out[:, vivid], rgb[:, vivid], atol=2e-3)
    # Grey: takes the predicted yellow.
    assert lab_out[0, 2, :, grey].mean() > 35.0 and lab_out[0, 1, :, grey].abs().max() < 3.0
    # Dull green: its chroma rises toward the predicted 44, and it stays green (a* < 0, hue kept).
    chroma_in = lab_in[0, 1:, :, dull].norm(dim=0)
    chroma_out = lab_out[0, 1:, :, dull].norm(dim=0)
    assert chroma_in.mean() < 12.0 and chroma_out.mean() > 30.0
    hue_in = torch.atan2(lab_in[0, 2, :, dull], lab_in[0, 1, :, dull])
    hue_out = torch.atan2(lab_out[0, 2, :, dull], lab_out[0, 1, :, dull])
    assert (hue_out - hue_in).abs().max() < 0.1  # radians


def test_blend_chroma_formula():
    ab_orig = torch.tensor([[0.0, 6.0, 1.0], [0.0, 8.0, 0.0]]).view(1, 2, 1, 3)  # grey, dull, almost grey
    ab_pred = torch.tensor([[30.0, 0.0, 0.0], [40.0, -50.0, 20.0]]).view(1, 2, 1, 3)
    weight = torch.tensor([1.0, 0.5, 1.0]).view(1, 1, 1, 3)
    out = blend_chroma(ab_orig, ab_pred, weight)[0, :, 0]
    torch.testing.assert_close(out[:, 0], torch.tensor([30.0, 40.0]))  # grey: the prediction
    # dull (chroma 10, hue trusted): chroma halfway to 50 -> 30, in its own direction (0.6, 0.8)
    torch.testing.assert_close(out[:, 1], torch.tensor([18.0, 24.0]))
    # chroma 1 < HUE_TRUST: a third of the way from "own hue" to "predicted colour"
    own = torch.tensor([20.0, 0.0])
    predicted = torch.tensor([0.0, 20.0])
    torch.testing.assert_close(out[:, 2], predicted + (own - predicted) / 3.0)


def test_blend_strength_zero_changes_nothing():
    rgb = _three_parts()
    colorizer = Colorizer(ConstantAb(a=0.0, b=0.4), device="cpu")
    np.testing.assert_allclose(
        enhance_array(colorizer, rgb.copy(), strength=0.0, mode="blend"), rgb, atol=1e-4
    )


def test_clahe_raises_local_contrast():
    y, x = np.mgrid[0:96, 0:96]
    grey = 0.45 + 0.03 * np.sin(x / 3.0) * np.cos(y / 4.0)  # a low-contrast texture
    l = torch.from_numpy(grey.astype(np.float32) * 100)[None, None]
    out = clahe_lightness(l)
    assert out.shape == l.shape and out.dtype == torch.float32
    assert out.std() > 2 * l.std()
    assert 0.0 <= out.min() and out.max() <= 100.0
    rgb = np.repeat(grey[:, :, None], 3, axis=2).astype(np.float32)
    colorizer = Colorizer(ConstantAb(), device="cpu")
    plain = _lab(enhance_array(colorizer, rgb.copy(), clahe=False, mode="blend"))[0, 0]
    equalised = _lab(enhance_array(colorizer, rgb.copy(), clahe=True, mode="blend"))[0, 0]
    assert equalised.std() > 2 * plain.std()


def test_bad_input():
    colorizer = Colorizer(ConstantAb(), device="cpu")
    with pytest.raises(ValueError, match="shape"):
        enhance_array(colorizer, np.zeros((8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="clip_limit"):
        clahe_lightness(torch.zeros(1, 1, 8, 8), clip_limit=0.0)


def _scene(height: int = 64, width: int = 96) -> np.ndarray:
    """A photo with true black and white, neutral greys and a few colours: (H, W, 3) float32."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.repeat((x / (width - 1))[..., None], 3, axis=2)  # a black-to-white ramp
    rgb[: height // 3, : width // 3] = (0.7, 0.2, 0.2)
    rgb[: height // 3, width // 3 : 2 * width // 3] = (0.2, 0.55, 0.25)
    rgb[: height // 3, 2 * width // 3 :] = (0.25, 0.35, 0.75)
    return rgb


def _delta_e(a: np.ndarray, b: np.ndarray) -> float:
    from deepcolor.metrics import ciede2000

    return ciede2000(_lab(a), _lab(b)).mean().item()


def test_restore_brings_a_faded_print_closer_to_its_original():
    from deepcolor.data.degrade import FadeParams, fade_print

    scene = _scene()
    faded = fade_print(scene, FadeParams(retained=(0.5, 0.8, 0.85), stain=(0.0, 0.03, 0.1), flare=0.03))
    colorizer = Colorizer(ConstantAb(a=0.0, b=0.0), device="cpu", render_size=48)  # the model: "neutral"
    restored = enhance_array(colorizer, faded.copy(), strength=1.0)
    assert _delta_e(restored, scene) < 0.6 * _delta_e(faded, scene)
    # the cast is gone from the grey ramp: its chroma falls
    ramp = slice(scene.shape[0] // 2, None)
    assert _lab(restored)[0, 1:, ramp].norm(dim=0).mean() < 0.7 * _lab(faded)[0, 1:, ramp].norm(dim=0).mean()
    # the colours keep their relations: red stays the reddest, blue the bluest
    lab = _lab(restored)[0, :, :20]
    assert lab[1, :, :30].mean() > lab[1, :, 35:60].mean() and lab[2, :, 70:].mean() < lab[2, :, :30].mean()
    # strength: 0 unchanged, in between in between
    np.testing.assert_allclose(enhance_array(colorizer, faded.copy(), strength=0.0), faded, atol=1e-5)
    half = enhance_array(colorizer, faded.copy(), strength=0.5)
    assert _delta_e(restored, scene) < _delta_e(half, scene) < _delta_e(faded, scene)


def test_restore_leaves_a_photo_in_good_condition_alone():
    from deepcolor.inference.enhance import fit_restoration

    scene = _scene()  # true blacks: no sign of lost density
    colorizer = Colorizer(ConstantAb(a=0.3, b=0.3), device="cpu", render_size=48)  # a model that disagrees
    np.testing.assert_allclose(enhance_array(colorizer, scene.copy()), scene, atol=2e-3)
    transform = fit_restoration(scene, np.full((*scene.shape[:2], 2), 30.0, np.float32))
    assert transform == transform.scaled(0.0)  # the identity
    with pytest.raises(ValueError, match="mode"):
        enhance_array(colorizer, scene.copy(), mode="paint")


def test_colour_transform_apply_and_scale():
    from deepcolor.inference.enhance import ColourTransform

    rgb = torch.rand(3, 8, 8)
    identity = ColourTransform()
    torch.testing.assert_close(identity.apply(rgb), rgb, atol=1e-5, rtol=0)
    levels = ColourTransform(lo=(0.1, 0.1, 0.1), hi=(0.9, 0.9, 0.9))
    torch.testing.assert_close(
        levels.apply(torch.full((3, 1, 1), 0.5)), torch.full((3, 1, 1), 0.5), atol=1e-5, rtol=0
    )
    assert levels.apply(torch.full((3, 1, 1), 0.1)).max() < 1e-3
    darker = ColourTransform(gamma=(1.5, 1.0, 1.0)).apply(torch.full((3, 1, 1), 0.5))
    assert darker[0] < darker[1] == pytest.approx(0.5, abs=1e-5)
    assert ColourTransform(gamma=(4.0, 1.0, 1.0)).scaled(0.5).gamma[0] == pytest.approx(2.0)
