"""`cnn`: colorization as classification over quantised ab bins (Zhang, Isola and Efros, ECCV 2016).

The network predicts logits over the in-gamut ab bins at 1/4 resolution. Training uses soft-encoded targets
and class rebalancing from the empirical bin prior of the training data; inference decodes with the
annealed mean (temperature 0.38 by default). The bin centres, the prior and the rebalancing weights are
buffers, so a checkpoint carries everything inference needs.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepcolor.models import ab_bins
from deepcolor.models.autoencoder import AUTOENCODER_LITE0
from deepcolor.models.layers import UNet
from deepcolor.models.registry import by_encoder, register_model, register_variant
from deepcolor.normalization import denormalize_ab, normalize_ab


class BinClassifierColorizer(nn.Module):
    """l_norm (B, 1, H, W) -> logits over Q ab bins (B, Q, ceil(H/4), ceil(W/4)).

    Args:
        base_width, depth, blocks, max_width, norm, act, separable: the U-Net backbone (see `UNet`).
        grid: ab quantisation step in a*b* units (10 gives 261 in-gamut bins).
        temperature: annealed-mean temperature for `predict_ab` (settable: `model.temperature = 0.2`).
        rebalance_lambda: mixing with the uniform distribution in the rebalancing weights.
    """

    def __init__(
        self,
        base_width: int = 16,
        depth: int = 4,
        blocks: int = 1,
        max_width: int = 256,
        norm: str = "batch",
        act: str = "relu",
        separable: bool = False,
        grid: float = 10.0,
        temperature: float = 0.38,
        rebalance_lambda: float = 0.5,
    ) -> None:
        super().__init__()
        centers = ab_bins.in_gamut_bins(grid)  # (Q, 2) a*b* units
        q = centers.shape[0]
        self.temperature = float(temperature)
        self.rebalance_lambda = float(rebalance_lambda)
        self.net = UNet(1, q, base_width, depth, blocks, max_width, 4, norm, act, separable)
        self.register_buffer("bin_centers", centers)
        self.register_buffer("prior", torch.full((q,), 1.0 / q))
        self.register_buffer("class_weights", torch.ones(q))

    @property
    def num_bins(self) -> int:
        return self.bin_centers.shape[0]

    def set_prior(self, prior: torch.Tensor) -> None:
        """Store the empirical bin prior (Q,) of the training data and derive the rebalancing weights."""
        if prior.shape != self.prior.shape:
            raise ValueError(f"prior must have shape {tuple(self.prior.shape)}. Got {tuple(prior.shape)}")
        prior = prior.to(self.prior) / prior.sum()
        self.prior.copy_(prior)
        self.class_weights.copy_(ab_bins.rebalancing_weights(prior, self.bin_centers, self.rebalance_lambda))

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        """l_norm (B, 1, H, W) -> logits (B, Q, ceil(H/4), ceil(W/4))."""
        if l_norm.dim() != 4 or l_norm.shape[1] != 1:
            raise ValueError(f"Input size must have a shape of (B, 1, H, W). Got {tuple(l_norm.shape)}")
        return self.net(l_norm)

    def predict_distribution(self, l_norm: torch.Tensor) -> torch.Tensor:
        """Per-pixel probabilities over the bins (B, Q, ceil(H/4), ceil(W/4)), summing to 1 over Q."""
        return torch.softmax(self.forward(l_norm), dim=1)

    def predict_ab(self, l_norm: torch.Tensor) -> torch.Tensor:
        """Annealed-mean ab: l_norm (B, 1, H, W) -> ab_norm (B, 2, H, W)."""
        logits = self.forward(l_norm)
        sharp = torch.softmax(logits / self.temperature, dim=1)  # == p^(1/T), normalised
        ab = torch.einsum("bqhw,qc->bchw", sharp, self.bin_centers.to(sharp.dtype))
        ab = F.interpolate(ab, size=l_norm.shape[-2:], mode="bilinear", align_corners=False)
        return normalize_ab(ab)

    def loss(
        self, logits: torch.Tensor, ab_norm: torch.Tensor, neighbors: int = 5, sigma: float = 5.0
    ) -> torch.Tensor:
        """Rebalanced cross-entropy against soft-encoded targets.

        logits (B, Q, h, w); ab_norm (B, 2, H, W) truth, area-downsampled to (h, w) here.
        """
        ab = denormalize_ab(F.adaptive_avg_pool2d(ab_norm.float(), logits.shape[-2:]))
        with torch.no_grad():
            target = ab_bins.soft_encode(ab, self.bin_centers, neighbors, sigma)  # (B, Q, h, w)
            pixel_w = self.class_weights[target.argmax(dim=1)]  # (B, h, w)
        ce = -(target * F.log_softmax(logits.float(), dim=1)).sum(dim=1)
        return (ce * pixel_w).mean()

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        # A checkpoint's bins define Q: adopt them if this build computed a different set (e.g. another
        # rgb_to_lab implementation rounding an edge bin differently), resizing the head to match.
        stored = state_dict.get(prefix + "bin_centers")
        if stored is not None and stored.shape != self.bin_centers.shape:
            q = stored.shape[0]
            head = self.net.head
            self.net.head = nn.Conv2d(head.in_channels, q, 1).to(head.weight)
            self.bin_centers = torch.empty_like(stored)
            self.prior = torch.empty(q).to(self.prior)
            self.class_weights = torch.empty(q).to(self.class_weights)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


@register_model(
    "cnn",
    "classifier over quantised ab bins, annealed-mean decoding (Zhang et al. 2016)",
    task=by_encoder("classification", "joint"),
)
def cnn(encoder: str = "unet", **kwargs: Any) -> nn.Module:
    """The classification family: kwargs of `BinClassifierColorizer`, or of `EncoderUNetColorizer`
    (decoding with the annealed mean) with an EfficientNet-Lite encoder."""
    if encoder == "unet":
        return BinClassifierColorizer(**kwargs)
    from deepcolor.models.encoder_unet import EncoderUNetColorizer

    kwargs.setdefault("decode", "annealed_mean")
    return EncoderUNetColorizer(encoder=encoder, **kwargs)


# The vivid family on the shipped default's trunk: its bin head decoded with the annealed mean where the
# distribution is peaked, the regression where it is spread (docs/models/cnn-lite0.md)
register_variant(
    "cnn-lite0",
    "cnn",
    {**AUTOENCODER_LITE0, "decode": "confident_mean", "confidence_power": 0.5},
    "the vivid one: the default's trunk, its ab-bin head decoded by confidence (annealed mean where sure)",
)
