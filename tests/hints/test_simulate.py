"""Simulated hints (Zhang et al. 2017): counts, placement, patch means, histograms."""

import torch

from deepcolor.hints import simulate
from deepcolor.models import ab_bins
from deepcolor.models.conditions import resize_sparse


def test_point_hint_count_is_geometric_with_zero_allowed():
    g = torch.Generator().manual_seed(0)
    counts = torch.tensor([simulate.point_hint_count(0.125, g) for _ in range(4000)], dtype=torch.float32)
    assert abs((counts == 0).float().mean().item() - 0.125) < 0.02
    assert abs(counts.mean().item() - 7.0) < 0.6  # mean (1 - p) / p


def test_a_hint_carries_its_patch_mean_and_a_mask():
    g = torch.Generator().manual_seed(1)
    ab = torch.zeros(2, 40, 60)
    ab[0] = 0.5
    ab[1] = -0.25
    hints = simulate.place_point_hints(ab, 3, g)
    mask = hints[2] > 0
    assert mask.any()
    assert torch.allclose(hints[0][mask], torch.tensor(0.5))
    assert torch.allclose(hints[1][mask], torch.tensor(-0.25))
    assert (hints[:2][:, ~mask] == 0).all()


def test_hint_placement_is_centred_on_the_image():
    g = torch.Generator().manual_seed(2)
    ab = torch.zeros(2, 64, 64)
    ys, xs = [], []
    for _ in range(300):
        m = simulate.place_point_hints(ab, 1, g, fixed_side=1)[2]
        y, x = m.nonzero()[0].tolist()
        ys.append(y)
        xs.append(x)
    assert abs(sum(ys) / len(ys) - 32) < 3 and abs(sum(xs) / len(xs) - 32) < 3
    spread = torch.tensor(xs, dtype=torch.float32).std().item()
    assert 12 < spread < 20  # sigma = a quarter of the side (16 px), a little less from clamping


def test_free_prob_one_gives_no_hints():
    ab = torch.rand(4, 2, 16, 16) - 0.5
    assert simulate.simulate_point_hints(ab, free_prob=1.0).abs().sum() == 0


def test_histogram_sums_to_one_and_finds_the_colour():
    centers = ab_bins.in_gamut_bins(10.0)
    ab = torch.zeros(1, 2, 32, 32)
    ab[:, 0] = 30 / 110
    ab[:, 1] = -20 / 110
    hist = simulate.color_histogram(ab, centers)
    assert torch.isclose(hist.sum(), torch.tensor(1.0))
    best = centers[hist[0].argmax()]
    assert best.tolist() == [30.0, -20.0]


def test_global_hint_vector_layout():
    vec = simulate.global_hint_vector(torch.full((2, 5), 0.2), torch.tensor([0.1, 0.3]), 2, 5, "cpu")
    assert vec.shape == (2, 8)
    assert vec[:, 5].tolist() == [1.0, 1.0] and vec[:, 7].tolist() == [1.0, 1.0]
    assert torch.allclose(vec[:, 6], torch.tensor([0.1, 0.3]))
    none = simulate.global_hint_vector(None, None, 2, 5, "cpu")
    assert none.abs().sum() == 0


def test_a_one_pixel_hint_survives_resizing_to_the_render_size():
    hint_map = torch.zeros(1, 3, 1200, 1600)
    hint_map[0, :2, 701, 333] = torch.tensor([0.4, -0.3])
    hint_map[0, 2, 701, 333] = 1.0
    small = resize_sparse(hint_map, (192, 256))
    given = small[0, 2] > 0
    assert given.sum() >= 1
    y, x = given.nonzero()[0].tolist()
    assert abs(y - 701 * 192 / 1200) <= 1 and abs(x - 333 * 256 / 1600) <= 1
    assert torch.allclose(small[0, :2, y, x], torch.tensor([0.4, -0.3]))
    # bilinear would have averaged it into almost nothing
    bilinear = torch.nn.functional.interpolate(hint_map, size=(192, 256), mode="bilinear", antialias=True)
    assert bilinear[0, 2].max() < 0.1


def test_flat_images_are_smooth_and_in_range():
    flat = simulate.flat_images(3, 32, 48, "cpu", torch.Generator().manual_seed(0))
    assert flat.shape == (3, 1, 32, 48)
    assert flat.min() >= -0.5 and flat.max() <= 0.5
    assert flat.diff(dim=-1).abs().max() < 0.05


def test_propagation_spreads_a_hint_over_its_region_not_across_an_edge():
    from deepcolor.hints.propagate import propagate_hints

    l = torch.full((1, 1, 64, 96), 30.0)
    l[..., 48:] = 80.0  # a strong lightness edge at x = 48
    ab = torch.zeros(1, 2, 64, 96)
    hints = torch.zeros(1, 3, 64, 96)
    hints[0, 0, 30:33, 20:23] = 40 / 110  # a red-ish hint in the dark half
    hints[0, 2, 30:33, 20:23] = 1.0
    out = propagate_hints(l, ab, hints)
    assert torch.allclose(out[0, 0, 31, 21], torch.tensor(40.0))  # the hint itself is exact
    assert out[0, 0, 31, 40] > 20  # carried over its own region
    assert out[0, 0, 31, 60].abs() < 2  # not across the edge
    assert out[0, 0, 5, 5] < out[0, 0, 31, 30]  # fading with distance
    assert torch.equal(propagate_hints(l, ab, torch.zeros_like(hints)), ab)  # no hint: untouched


def test_the_models_gain_applies_where_no_hint_reaches_and_fades_out_near_one():
    from deepcolor.hints.propagate import propagate_hints

    l = torch.full((1, 1, 64, 192), 50.0)
    ab = torch.full((1, 2, 64, 192), 10.0)
    hints = torch.zeros(1, 3, 64, 192)
    hints[0, 0, 30:33, 10:13] = 10 / 110  # agrees with the prediction in a*, so only the gain can move it
    hints[0, 1, 30:33, 10:13] = 10 / 110
    hints[0, 2, 30:33, 10:13] = 1.0
    out = propagate_hints(l, ab, hints, gain=1.5)
    assert torch.allclose(out[0, :, 31, 11], torch.tensor([10.0, 10.0]))  # the hint itself is exact
    assert abs(float(out[0, 0, 31, 16]) - 10.0) < 1.0  # beside it: the hint's colour, not lifted
    assert abs(float(out[0, 0, 31, 185]) - 15.0) < 0.5  # far from it: the model's gain
    assert torch.allclose(propagate_hints(l, ab, torch.zeros_like(hints), gain=1.5), ab * 1.5)


def test_without_the_spread_only_the_gain_fades_near_hints_and_hinted_pixels_are_exact():
    from deepcolor.hints.propagate import propagate_hints

    l = torch.full((1, 1, 64, 192), 50.0)
    ab = torch.full((1, 2, 64, 192), 10.0)
    hints = torch.zeros(1, 3, 64, 192)
    hints[0, 0, 30:33, 10:13] = 40 / 110  # far from the prediction: a spread would carry it around
    hints[0, 2, 30:33, 10:13] = 1.0
    out = propagate_hints(l, ab, hints, gain=1.5, spread=False)
    assert torch.allclose(out[0, 0, 31, 11], torch.tensor(40.0))
    assert abs(float(out[0, 0, 31, 16]) - 10.0) < 1.0  # beside it: the prediction, neither lifted nor carried
    assert abs(float(out[0, 0, 31, 185]) - 15.0) < 0.5  # far from it: the model's gain
