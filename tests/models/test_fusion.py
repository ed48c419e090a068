"""Batch norm folded into convolutions for inference: same function, no norms left, and only in eval mode."""

import pytest
import torch
from torch import nn

from deepcolor.models import create_model
from deepcolor.models.fusion import fold_batchnorm, fold_conv_bn

SMALL = {"decoder_widths": [16, 12, 8, 8], "refine_width": 4}


def _randomize_norms(model: nn.Module, seed: int = 0) -> None:
    """Running statistics and affine parameters far from the identity, so that a wrong fold shows."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.5)
            module.running_var.copy_(torch.rand(n, generator=generator) * 2 + 0.2)
            module.weight.data.copy_(torch.randn(n, generator=generator))
            module.bias.data.copy_(torch.randn(n, generator=generator) * 0.3)


def test_fold_conv_bn_matches_conv_then_norm_with_and_without_a_bias():
    torch.manual_seed(0)
    for bias in (False, True):
        conv, bn = nn.Conv2d(5, 7, 3, padding=1, bias=bias), nn.BatchNorm2d(7)
        _randomize_norms(nn.Sequential(conv, bn))
        bn.eval()
        x = torch.randn(2, 5, 9, 11)
        expected = bn(conv(x))
        fold_conv_bn(conv, bn)
        torch.testing.assert_close(conv(x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("family", "kwargs"),
    [
        ("autoencoder", {"encoder": "efficientnet-lite0", **SMALL}),
        ("autoencoder", {}),  # the from-scratch U-Net (ConvNormAct in nn.Sequential)
        ("cnn", {"encoder": "efficientnet-lite0", **SMALL}),
    ],
)
def test_folded_model_computes_the_same_and_has_no_batch_norm_left(family, kwargs):
    torch.manual_seed(1)
    model = create_model(family, **kwargs)
    _randomize_norms(model)
    model.eval()
    norms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    l_norm = torch.rand(1, 1, 64, 96) * 2 - 1
    with torch.no_grad():
        expected = model.predict_ab(l_norm)
        assert fold_batchnorm(model) == norms > 0
        got = model.predict_ab(l_norm)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_folding_refuses_a_model_in_training_mode():
    model = create_model("autoencoder", encoder="efficientnet-lite0", **SMALL)
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(model)


def test_distribution_from_the_shortened_decoder_equals_the_full_forward():
    torch.manual_seed(2)
    model = create_model("autoencoder", encoder="efficientnet-lite0", **SMALL).eval()
    l_norm = torch.rand(1, 1, 64, 64) * 2 - 1
    hints = torch.zeros(1, 3, 64, 64)
    hints[0, :, 10, 20] = torch.tensor([0.3, -0.2, 1.0])
    with torch.no_grad():
        _, logits = model(l_norm, hints=hints)
        expected = torch.softmax(logits, dim=1)
        got = model.predict_distribution(l_norm, hints=hints)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)
