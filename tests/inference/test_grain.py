"""deepcolor.inference.grain: the noise measure, the gate, and what the network sees."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepcolor.inference.grain import DENOISED_CHROMA_GAIN, NOISE_GATE, denoise_for_network, noise_level
from deepcolor.inference.pipeline import to_render_size


def _photo(height: int = 192, width: int = 256) -> torch.Tensor:
    """Smooth shapes on a ramp (L* 25-80): flat areas, as most photos have."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    l = 25 + 40 * x / width + 15 * ((x - 80) ** 2 + (y - 90) ** 2 < 40**2)
    return torch.from_numpy(l)[None, None]


def _grainy(l: torch.Tensor, sigma: float = 5.0, seed: int = 0) -> torch.Tensor:
    noise = torch.from_numpy(np.random.default_rng(seed).normal(0, sigma, l.shape[-2:]).astype(np.float32))
    return (l + noise).clamp(0, 100)


def test_noise_level_tells_grain_from_a_clean_photo():
    clean = _photo()
    assert noise_level(clean) < 0.2 * NOISE_GATE
    assert noise_level(_grainy(clean)) > 1.5 * NOISE_GATE
    assert noise_level(clean[0, 0].numpy()) == noise_level(clean)  # (H, W) arrays too
    assert noise_level(torch.zeros(1, 1, 8, 8)) == 0.0  # smaller than a block


def test_clean_photo_is_passed_through_untouched():
    l = _photo()
    l_low = to_render_size(l, 96)
    assert denoise_for_network(l, l_low) is l_low


def test_grainy_photo_is_denoised_toward_the_clean_one():
    clean = _photo()
    grainy = _grainy(clean)
    clean_low, grainy_low = to_render_size(clean, 128), to_render_size(grainy, 128)
    seen = denoise_for_network(grainy, grainy_low)
    assert seen.shape == grainy_low.shape and seen.dtype == torch.float32
    assert noise_level(seen, 8, 10) < 0.75 * noise_level(grainy_low, 8, 10)  # sharpened, still less grain
    assert (seen - clean_low).abs().mean() < (grainy_low - clean_low).abs().mean()
    # the gate can be shut
    assert denoise_for_network(grainy, grainy_low, gate=float("inf")) is grainy_low


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="shape"):
        denoise_for_network(torch.zeros(2, 1, 32, 32), torch.zeros(2, 1, 16, 16))
    with pytest.raises(ValueError, match="shape"):
        noise_level(np.zeros((3, 32, 32)))


def test_colorizer_sees_the_denoised_lightness_only_when_grainy():
    from deepcolor.inference import Colorizer
    from deepcolor.models import create_model

    torch.manual_seed(0)
    model = create_model("autoencoder", base_width=4, depth=1)
    grainy = _grainy(_photo())
    on = Colorizer(model, device="cpu", render_size=64, denoise_grain=True)
    off = Colorizer(model, device="cpu", render_size=64)  # the default: off (textured clean photos gate too)
    l_low_on, ab_on = on.predict_low(grainy)
    l_low_off, ab_off = off.predict_low(grainy)
    assert torch.equal(l_low_on, l_low_off)  # the guide is the grainy L* in both
    assert not torch.allclose(ab_on, ab_off)
    # the network's a*b* on the denoised L*, times the gain for a denoised input
    seen = denoise_for_network(grainy, l_low_on)
    assert torch.allclose(ab_on, DENOISED_CHROMA_GAIN * off._predict_rendered(seen, {}), atol=1e-5)
    clean = _photo()
    assert torch.equal(on.predict_low(clean)[1], off.predict_low(clean)[1])  # clean: bit for bit
    many = on.predict_low_many([grainy, clean])
    assert torch.allclose(many[0][1], ab_on, atol=1e-5)
