from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from deepcolor.inference.upsample import GuidedCoefficients, box_filter, fit_guided, guided_upsample


def _step_scene(size: int = 192, low: int = 48):
    """A sharp vertical edge at a column that is not on the low-resolution grid: dark red | bright blue.

    Returns (L full (1,1,H,W), ab truth (1,2,H,W), L low, ab low), low versions antialiased as the pipeline
    makes them.
    """
    edge = size // 2 + 3
    l = torch.full((1, 1, size, size), 30.0)
    l[..., edge:] = 75.0
    ab = torch.zeros(1, 2, size, size)
    ab[:, 0, :, :edge] = 60.0
    ab[:, 1, :, edge:] = -50.0
    down = dict(size=(low, low), mode="bilinear", antialias=True, align_corners=False)
    return l, ab, F.interpolate(l, **down), F.interpolate(ab, **down), edge


def test_guided_does_not_bleed_across_an_edge_where_bilinear_does():
    l, ab, l_low, ab_low, edge = _step_scene()
    bilinear = F.interpolate(ab_low, size=l.shape[-2:], mode="bilinear", align_corners=False)
    guided = guided_upsample(ab_low, l_low / 100.0, l / 100.0)
    band = slice(edge - 4, edge + 4)  # the pixels on both sides of the edge
    bilinear_error = (bilinear - ab)[..., band].abs().amax().item()
    guided_error = (guided - ab)[..., band].abs().amax().item()
    assert bilinear_error > 25.0  # a*b* units: visible colour bleeding
    assert guided_error < 8.0
    # The blue side's first pixels get little red (the true a* is 0), the bleeding that a viewer sees.
    assert guided[0, 0, :, edge : edge + 4].abs().amax() < 8.0
    assert bilinear[0, 0, :, edge : edge + 4].abs().amax() > 25.0


def test_flat_colour_is_reproduced_exactly():
    l = torch.rand(1, 1, 60, 90) * 100
    l_low = F.interpolate(l, size=(20, 30), mode="bilinear", antialias=True)
    ab_low = torch.tensor([12.0, -7.0]).view(1, 2, 1, 1).expand(1, 2, 20, 30)
    out = guided_upsample(ab_low, l_low / 100, l / 100)
    torch.testing.assert_close(out, ab_low[..., :1, :1].expand(1, 2, 60, 90), atol=1e-3, rtol=0)


def test_banded_bilinear_equals_one_resize():
    torch.manual_seed(0)
    low = torch.randn(2, 3, 17, 23)
    full_size = (101, 77)
    expected = F.interpolate(low, size=full_size, mode="bilinear", align_corners=False)
    coefficients = GuidedCoefficients.bilinear(low, full_size)
    got = coefficients.apply(torch.rand(2, 1, *full_size), tile_rows=13)  # bands that do not divide H
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("tile_rows", [1, 7, 1000])
def test_band_size_does_not_change_the_result(tile_rows):
    torch.manual_seed(1)
    l = torch.rand(1, 1, 40, 50)
    l_low = F.interpolate(l, size=(10, 12), mode="bilinear", antialias=True)
    coefficients = fit_guided(l_low, torch.randn(1, 2, 10, 12), (40, 50))
    banded = coefficients.apply(l, tile_rows=tile_rows)
    torch.testing.assert_close(banded, coefficients.apply(l), atol=1e-6, rtol=0)


def test_box_filter_is_a_local_mean_with_clipped_borders():
    x = torch.arange(25.0).view(1, 1, 5, 5)
    out = box_filter(x, 1)
    assert out[0, 0, 2, 2] == x[0, 0, 1:4, 1:4].mean()
    assert out[0, 0, 0, 0] == x[0, 0, :2, :2].mean()  # only the pixels inside the image


def test_tiny_inputs_and_batches():
    l = torch.rand(3, 1, 9, 5)
    l_low = F.interpolate(l, size=(3, 2), mode="bilinear", antialias=True)
    out = guided_upsample(torch.randn(3, 2, 3, 2), l_low, l)
    assert out.shape == (3, 2, 9, 5)
    assert torch.isfinite(out).all()


def test_bad_shapes_say_what_arrived():
    with pytest.raises(ValueError, match=r"\(B, 1, h, w\)"):
        fit_guided(torch.rand(1, 3, 8, 8), torch.rand(1, 2, 8, 8), (16, 16))
    with pytest.raises(ValueError, match="src_low"):
        fit_guided(torch.rand(1, 1, 8, 8), torch.rand(1, 2, 4, 8), (16, 16))
    coefficients = fit_guided(torch.rand(1, 1, 8, 8), torch.rand(1, 2, 8, 8), (16, 16))
    with pytest.raises(ValueError, match="differs"):
        coefficients.apply(torch.rand(1, 1, 16, 15))


def test_clamp_removes_the_overshoot_beyond_a_blurred_edge():
    # The low resolution sees the lightness edge blurred over one pixel but the colour as a hard step: the
    # local linear fit then overshoots on the bright side; the clamp keeps it within the local range.
    l = torch.full((1, 1, 64, 96), 25.0)
    l[..., 50:] = 80.0
    l_low = F.interpolate(l, size=(16, 24), mode="bilinear", antialias=True, align_corners=False)
    ab_low = torch.cat([55.0 * (l_low < 50), torch.zeros_like(l_low)], dim=1)
    loose = guided_upsample(ab_low, l_low / 100, l / 100, clamp=False)
    tight = guided_upsample(ab_low, l_low / 100, l / 100, clamp=True)
    assert loose[0, 0, :, 50:].min() < -5.0  # a* below anything the model predicted
    assert tight[0, 0].min() >= 0.0 and tight[0, 0].max() <= 55.0
    assert tight[0, 0, :, 50:].abs().max() < 1e-4


def test_detail_transfer_keeps_the_prediction_at_its_own_size_and_plain_guided_does_not():
    torch.manual_seed(2)
    l = torch.rand(1, 1, 24, 32)
    ab = torch.randn(1, 2, 24, 32) * 20
    kept = guided_upsample(ab, l, l)  # "upsampling" to the same size
    torch.testing.assert_close(kept, ab, atol=1e-4, rtol=0)
    smoothed = guided_upsample(ab, l, l, detail=False)
    assert (smoothed - ab).abs().mean() > 1.0  # the plain guided filter smooths the prediction
