from __future__ import annotations

import numpy as np
import pytest
import torch

from deepcolor.color import rgb_to_lab
from deepcolor.inference import Colorizer, lightness, render_shape
from deepcolor.inference.pipeline import to_render_size

from .helpers import ConstantAb, LeftRight


def _lab(rgb: np.ndarray) -> torch.Tensor:
    return rgb_to_lab(torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].double())


def _detailed_grey(height: int = 90, width: int = 130) -> np.ndarray:
    """Mid greys with one-pixel detail (a fine checkerboard on a ramp): (H, W) float32 in [0.3, 0.7]."""
    y, x = np.mgrid[0:height, 0:width]
    ramp = 0.35 + 0.3 * x / (width - 1)
    return (ramp + 0.05 * ((x + y) % 2)).astype(np.float32)


@pytest.mark.parametrize(
    ("size", "render", "expected"),
    [
        ((3000, 4000), 256, (192, 256)),
        ((4000, 3000), 256, (256, 192)),
        ((100, 100), 256, (256, 256)),
        ((1, 500), 64, (1, 64)),
        ((321, 481), 321, (214, 321)),
    ],
)
def test_render_shape_keeps_the_aspect_ratio(size, render, expected):
    assert render_shape(*size, render) == expected


def test_render_size_equal_to_the_image_is_left_alone():
    l = torch.rand(1, 1, 48, 64)
    assert to_render_size(l, 64) is l
    assert to_render_size(l, 32).shape == (1, 1, 24, 32)


def test_output_has_the_input_size_and_lightness():
    grey = _detailed_grey()
    # a one-pixel checkerboard all over measures as film grain (inference/grain.py), whose a*b* gets a gain;
    # this test is about the join
    colorizer = Colorizer(ConstantAb(), device="cpu", render_size=32, denoise_grain=False)
    out = colorizer.colorize_array(grey)
    assert out.shape == (*grey.shape, 3) and out.dtype == np.float32
    lab_out = _lab(out)
    expected_l = lightness(grey).double()
    # Full-resolution detail kept: the output's L* is the input's (float in memory, no quantisation).
    torch.testing.assert_close(lab_out[:, :1], expected_l, atol=0.02, rtol=0)
    assert lab_out[0, 1].mean() == pytest.approx(0.12 * 110, abs=0.5)  # the model's a*
    assert lab_out[0, 2].mean() == pytest.approx(-0.08 * 110, abs=0.5)


def test_saturation_scales_chroma_and_zero_gives_grey():
    grey = _detailed_grey(40, 60)
    colorizer = Colorizer(ConstantAb(), device="cpu")
    out = colorizer.colorize_array(grey, saturation=0.0)
    np.testing.assert_allclose(out[..., 0], out[..., 1], atol=1e-4)  # float32 round-off only
    np.testing.assert_allclose(out[..., 1], out[..., 2], atol=1e-4)
    half = _lab(colorizer.colorize_array(grey, saturation=0.5))
    full = _lab(colorizer.colorize_array(grey, saturation=1.0))
    ratio = half[0, 1:].norm(dim=0).mean() / full[0, 1:].norm(dim=0).mean()
    assert ratio.item() == pytest.approx(0.5, abs=0.01)


def test_grey_fast_path_equals_the_three_channel_formula():
    grey = np.random.default_rng(0).random((33, 47)).astype(np.float32)
    grey8 = (np.round(grey * 255) / 255).astype(np.float32)
    for g in (grey, grey8):
        rgb = np.repeat(g[:, :, None], 3, axis=2)
        torch.testing.assert_close(lightness(rgb, gray=True), lightness(rgb), atol=1e-3, rtol=0)
        torch.testing.assert_close(lightness(g), lightness(rgb), atol=1e-3, rtol=0)


def test_colour_input_is_colorized_from_its_lightness(rgb_image):
    colorizer = Colorizer(ConstantAb(), device="cpu")
    from_colour = colorizer.colorize_array(rgb_image)
    grey = lightness(rgb_image)
    from_l = colorizer.colorize_l(grey)
    np.testing.assert_allclose(from_colour, from_l, atol=1e-6)


def test_predict_ab_is_full_resolution_and_follows_edges():
    # Left half dark, right half bright: LeftRight predicts red on the dark side, blue on the bright one.
    l = torch.full((2, 1, 64, 96), 25.0)
    l[..., 50:] = 80.0
    colorizer = Colorizer(LeftRight(), device="cpu", render_size=24)
    ab = colorizer.predict_ab(l)
    assert ab.shape == (2, 2, 64, 96) and ab.dtype == torch.float32
    # The model sees a blurred edge at 24 px, but the colour is cut at the full-resolution edge: no red
    # crosses it, and on the dark side the red (a* = 55) keeps at least half its strength right up to the
    # edge, where bilinear upsampling of the same prediction leaves an eighth.
    bilinear = torch.nn.functional.interpolate(colorizer.predict_low(l)[1], size=(64, 96), mode="bilinear")
    assert ab[:, 0, :, 50:].abs().max() < 5.0
    assert ab[:, 1, :, 50:].max() < -35.0
    assert ab[:, 0, :, :50].min() > 25.0
    assert bilinear[:, 0, :, :50].min() < 10.0
    half = colorizer.predict_ab(l, saturation=0.5)
    torch.testing.assert_close(half, ab * 0.5)


def test_predict_ab_passes_images_at_render_size_straight_to_the_model():
    calls = []

    class Spy(ConstantAb):
        def predict_ab(self, l_norm):
            calls.append(tuple(l_norm.shape))
            return super().predict_ab(l_norm)

    colorizer = Colorizer(Spy(), device="cpu")
    colorizer.predict_ab(torch.rand(1, 1, 160, 256) * 100, render_size=256)
    colorizer.predict_ab(torch.rand(1, 1, 600, 800) * 100, render_size=128)
    assert calls == [(1, 1, 160, 256), (1, 1, 96, 128)]


def test_banded_output_equals_whole_image(monkeypatch):
    from deepcolor.inference import bands

    grey = _detailed_grey(70, 50)
    colorizer = Colorizer(LeftRight(), device="cpu", render_size=20)
    whole = colorizer.colorize_array(grey)
    monkeypatch.setattr(bands, "rows_per_tile", lambda width, pixels=0: 9)
    banded = colorizer.colorize_array(grey)
    np.testing.assert_allclose(banded, whole, atol=1e-5)


def test_in_place_output(rgb_image):
    colorizer = Colorizer(ConstantAb(), device="cpu")
    expected = colorizer.colorize_array(rgb_image.copy())
    buffer = rgb_image.copy()
    out = colorizer.colorize_array(buffer, out=buffer)
    assert out is buffer
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_registered_model_from_file(tiny_weights):
    colorizer = Colorizer(str(tiny_weights), device="cpu")
    assert colorizer.render_size == 64  # from the .json
    out = colorizer.colorize_array(_detailed_grey(30, 40))
    assert out.shape == (30, 40, 3) and np.isfinite(out).all()
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_bad_arguments():
    colorizer = Colorizer(ConstantAb(), device="cpu")
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        colorizer.predict_ab(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match="shape"):
        colorizer.colorize_array(np.zeros((4, 4, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="render_size"):
        render_shape(10, 10, 0)
    with pytest.raises(ValueError, match="backend"):
        Colorizer(ConstantAb(), device="cpu", backend="tensorflow")


def test_a_module_being_trained_is_borrowed_not_switched_or_moved(monkeypatch):
    from deepcolor.models import create_model

    torch.manual_seed(0)
    model = create_model("autoencoder", base_width=4, depth=1).train()  # batch norm: its mode matters
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for method in ("to", "cpu", "cuda"):
        monkeypatch.setattr(model, method, lambda *a, name=method, **k: pytest.fail(f"model.{name}() called"))
    colorizer = Colorizer(model, device="cpu", render_size=32)
    assert colorizer.device == next(model.parameters()).device
    l = torch.rand(1, 1, 40, 50, generator=torch.Generator().manual_seed(1)) * 100
    ab = colorizer.predict_ab(l)
    assert model.training and all(m.training for m in model.modules())  # still training
    for key, value in model.state_dict().items():  # batch-norm running statistics untouched
        assert torch.equal(value, before[key]), key
    # The prediction is the eval-mode one (running statistics, not the batch's).
    copy = create_model("autoencoder", base_width=4, depth=1)
    copy.load_state_dict(before)
    torch.testing.assert_close(ab, Colorizer(copy.eval(), device="cpu", render_size=32).predict_ab(l))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_lightness_of_integer_levels_equals_that_of_their_float_values(dtype):
    top = np.iinfo(dtype).max
    rng = np.random.default_rng(0)
    levels = rng.integers(0, top + 1, size=(37, 53, 3)).astype(dtype)
    levels[0, :3, :] = [[0, 0, 0], [top, top, top], [1, 1, 1]]
    as_float = levels.astype(np.float32) / np.float32(top)
    grey = levels[:, :, 0]
    np.testing.assert_allclose(lightness(grey), lightness(as_float[:, :, 0]), atol=1e-3)
    np.testing.assert_allclose(lightness(levels), lightness(as_float), atol=1e-4)
    np.testing.assert_allclose(lightness(np.repeat(grey[:, :, None], 3, 2), gray=True), lightness(grey))


def test_join_into_8_bit_codes_is_the_rounded_float_join():
    colorizer = Colorizer(LeftRight(), device="cpu", render_size=20)
    l = lightness(_detailed_grey(70, 50))
    l_low, ab_low = colorizer.predict_low(l)
    from deepcolor.inference.upsample import fit_guided

    coefficients = fit_guided(l_low / 100.0, ab_low, (70, 50))
    as_float = colorizer._join(l, coefficients, 1.2, None)
    codes = colorizer._join(l, coefficients, 1.2, None, dtype=np.uint8)
    assert codes.dtype == np.uint8 and codes.shape == (70, 50, 3)
    assert np.abs(codes.astype(np.float64) - np.floor(as_float * 255.0 + 0.5)).max() <= 1
    workspace: dict = {}
    for _ in range(2):  # the bands' buffers made, then reused
        again = colorizer._join(l, coefficients, 1.2, None, dtype=np.uint8, workspace=workspace)
        np.testing.assert_array_equal(again, codes)
    assert workspace
    with pytest.raises(ValueError, match="float32 or uint8"):
        colorizer._join(l, coefficients, 1.0, np.zeros((70, 50, 3), np.uint16))
