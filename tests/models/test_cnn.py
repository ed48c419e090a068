import pytest
import torch

from deepcolor.models import create_model
from deepcolor.normalization import denormalize_ab, normalize_ab

TINY = {"base_width": 4, "depth": 2}


@pytest.fixture
def model():
    torch.manual_seed(0)
    return create_model("cnn", **TINY).eval()


def test_distribution_at_quarter_resolution(model):
    l_norm = torch.rand(2, 1, 32, 24) - 0.5
    with torch.no_grad():
        probs = model.predict_distribution(l_norm)
    assert probs.shape == (2, model.num_bins, 8, 6)
    torch.testing.assert_close(probs.sum(1), torch.ones(2, 8, 6))
    assert (probs >= 0).all()


def test_temperature_is_settable_and_sharpens(model):
    l_norm = torch.rand(1, 1, 16, 16) - 0.5
    with torch.no_grad():
        model.net.head.bias.copy_(torch.randn(model.num_bins) * 3)  # a peaked distribution
        mean = model.predict_ab(l_norm)
        model.temperature = 0.01
        mode = model.predict_ab(l_norm)
        model.temperature = 1e-4
        near_mode = model.predict_ab(l_norm)
    assert not torch.allclose(mean, mode, atol=1e-3)
    # at T -> 0 the decoded ab is a bin centre (away from the borders, where bilinear upsampling does not mix)
    centres = normalize_ab(model.bin_centers)
    pixel = near_mode[0, :, 8, 8]
    assert (centres - pixel).norm(dim=1).min() < 1e-3


def test_prior_sets_rebalancing_weights_and_travels_in_the_state_dict(model):
    prior = torch.rand(model.num_bins)
    model.set_prior(prior)
    torch.testing.assert_close(model.prior, prior / prior.sum())
    state = model.state_dict()
    assert {"bin_centers", "prior", "class_weights"} <= set(state)
    fresh = create_model("cnn", **TINY)
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.class_weights, model.class_weights)
    with pytest.raises(ValueError):
        model.set_prior(torch.ones(3))


def test_loss_prefers_the_truth(model):
    ab_norm = normalize_ab(torch.tensor([40.0, -30.0]).view(1, 2, 1, 1).expand(1, 2, 16, 16))
    logits = torch.zeros(1, model.num_bins, 4, 4)
    good = logits.clone()
    target_bin = (model.bin_centers - torch.tensor([40.0, -30.0])).norm(dim=1).argmin()
    good[:, target_bin] = 8.0
    assert model.loss(good, ab_norm) < model.loss(logits, ab_norm)
    assert float(denormalize_ab(ab_norm).abs().max()) == pytest.approx(40.0)


def test_a_checkpoint_with_other_bins_still_loads(model):
    # bins computed by another Lab implementation may differ at the gamut edge: the stored ones win
    state = {k: v.clone() for k, v in model.state_dict().items()}
    keep = torch.arange(model.num_bins - 1)
    for key in ("bin_centers", "prior", "class_weights"):
        state[key] = state[key][keep]
    state["net.head.weight"] = state["net.head.weight"][keep]
    state["net.head.bias"] = state["net.head.bias"][keep]
    other = create_model("cnn", **TINY)
    other.load_state_dict(state)
    assert other.num_bins == model.num_bins - 1
    assert other.predict_ab(torch.zeros(1, 1, 16, 16)).shape == (1, 2, 16, 16)
