import pytest
import torch

from deepcolor.color import rgb_to_lab
from deepcolor.models import ab_bins


@pytest.fixture(scope="module")
def centers():
    return ab_bins.in_gamut_bins(10.0)


def test_in_gamut_bins(centers):
    assert centers.shape == (261, 2)
    assert torch.equal(centers, torch.round(centers / 10) * 10)  # on the grid
    assert centers[:, 0].min() == -90 and centers[:, 0].max() == 100  # as Zhang's set
    assert centers[:, 1].min() == -110 and centers[:, 1].max() == 90
    assert torch.unique(centers, dim=0).shape[0] == 261
    # every sRGB colour lands in a bin: random colours' nearest centre is within half a cell diagonal
    rgb = torch.rand(3, 50, 50, generator=torch.Generator().manual_seed(0))
    ab = rgb_to_lab(rgb)[1:].unsqueeze(0)
    idx = ab_bins.nearest_bin(ab, centers)
    assert (ab[0] - centers[idx[0]].permute(2, 0, 1)).norm(dim=0).max() <= 5 * 2**0.5 + 1e-4


def test_one_hot_round_trip_returns_the_bin_centre(centers):
    q = centers.shape[0]
    for temperature in (1.0, 0.38, 0.01):
        probs = torch.eye(q).view(1, q, q, 1)  # pixel j is one-hot on bin j
        ab = ab_bins.annealed_mean(probs, centers, temperature)  # (1, 2, Q, 1)
        torch.testing.assert_close(ab[0, :, :, 0].T, centers, atol=1e-4, rtol=0)


def test_soft_encoding_then_decoding(centers):
    ab = torch.tensor([[[[30.0]], [[-20.0]]], [[[3.0]], [[-41.0]]]])  # (2, 2, 1, 1), two pixels
    target = ab_bins.soft_encode(ab, centers, neighbors=5, sigma=5.0)
    assert target.shape == (2, 261, 1, 1)
    torch.testing.assert_close(target.sum(1), torch.ones(2, 1, 1))
    assert ((target > 0).sum(1) == 5).all()
    # a colour on a bin centre: that bin weighs most; the plain mean decodes back to it (symmetric neighbours)
    assert centers[target[0, :, 0, 0].argmax()].tolist() == [30.0, -20.0]
    torch.testing.assert_close(ab_bins.annealed_mean(target, centers, 1.0)[0], ab[0], atol=1.0, rtol=0)
    # an off-centre colour decodes close to itself at T = 1, to its nearest centre as T -> 0
    torch.testing.assert_close(ab_bins.annealed_mean(target, centers, 1.0)[1], ab[1], atol=3.0, rtol=0)
    mode = ab_bins.annealed_mean(target, centers, 1e-3)[1].flatten()
    assert mode.tolist() == pytest.approx([0.0, -40.0], abs=1e-3)


def test_rebalancing_weights(centers):
    q = centers.shape[0]
    prior = torch.zeros(q)
    prior[:10] = 1.0  # a skewed prior: only ten bins seen
    weights = ab_bins.rebalancing_weights(prior, centers, lam=0.5, sigma=5.0)
    smooth = torch.exp(-(centers[:, None] - centers[None]).pow(2).sum(-1) / 50.0) @ (prior / prior.sum())
    smooth /= smooth.sum()
    torch.testing.assert_close((smooth * weights).sum(), torch.tensor(1.0))  # E_p[w] = 1
    assert weights[:10].max() < weights[100:].min()  # frequent bins weigh less
    uniform = ab_bins.rebalancing_weights(torch.ones(q), centers)
    assert uniform.std() / uniform.mean() < 0.5  # a flat prior (edge effects aside) gives near-flat weights


def test_bad_arguments():
    with pytest.raises(ValueError):
        ab_bins.in_gamut_bins(0)
    with pytest.raises(ValueError):
        ab_bins.annealed_mean(torch.ones(1, 261, 1, 1) / 261, ab_bins.in_gamut_bins(), 0.0)
