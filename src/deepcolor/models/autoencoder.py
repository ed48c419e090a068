"""`autoencoder`: a U-Net that regresses ab directly (trained with a Huber or L1 loss).

The decoder stops at 1/2 resolution; the output is upsampled bilinearly to the input size, which is cheap
and loses little since the inference path upsamples ab guided by the full-resolution L anyway.
The `gan` family uses this same class as its generator. With `encoder="efficientnet-lite0"` (or -lite1/2)
the family builds the pretrained-encoder model of `encoder_unet.py` instead.

Variants (registered names): `autoencoder-lite0`, the shipped default's architecture.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepcolor.models.encoder_unet import EncoderUNetColorizer
from deepcolor.models.layers import UNet
from deepcolor.models.registry import by_encoder, register_model, register_variant


class UNetColorizer(nn.Module):
    """U-Net colorizer: l_norm (B, 1, H, W) in [-0.5, 0.5] -> ab_norm (B, 2, H, W) in [-1, 1] (tanh).

    Args:
        base_width: channels of the first level (doubling per level).
        depth: number of downsampling levels after the stride-2 stem.
        blocks: extra 3x3 convs per level.
        max_width: cap on the channel count.
        norm: "batch", "group" or "none".
        act: "relu", "silu" or "leaky".
        separable: depthwise-separable 3x3 convs instead of plain ones.
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
    ) -> None:
        super().__init__()
        self.net = UNet(1, 2, base_width, depth, blocks, max_width, 2, norm, act, separable)

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        """l_norm (B, 1, H, W) -> ab_norm (B, 2, H, W) in [-1, 1]."""
        if l_norm.dim() != 4 or l_norm.shape[1] != 1:
            raise ValueError(f"Input size must have a shape of (B, 1, H, W). Got {tuple(l_norm.shape)}")
        ab_half = torch.tanh(self.net(l_norm))  # (B, 2, H/2, W/2)
        return F.interpolate(ab_half, size=l_norm.shape[-2:], mode="bilinear", align_corners=False)

    def predict_ab(self, l_norm: torch.Tensor) -> torch.Tensor:
        """The inference call: l_norm (B, 1, H, W) -> ab_norm (B, 2, H, W)."""
        return self.forward(l_norm)


ENCODERS = ("unet", "efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")


def build_regressor(encoder: str, **kwargs: object) -> nn.Module:
    """`encoder="unet"`: the from-scratch U-Net; an EfficientNet-Lite name: the pretrained-encoder model."""
    if encoder not in ENCODERS:
        raise ValueError(f"unknown encoder {encoder!r}; known: {', '.join(ENCODERS)}")
    if encoder == "unet":
        return UNetColorizer(**kwargs)
    kwargs.setdefault("decode", "regression")
    return EncoderUNetColorizer(encoder=encoder, **kwargs)


@register_model(
    "autoencoder",
    "U-Net regressing ab (Huber / L1 loss); encoder=unet|efficientnet-lite0|1|2",
    task=by_encoder("regression", "joint"),
)
def autoencoder(encoder: str = "unet", **kwargs: object) -> nn.Module:
    """The regression family: kwargs of `UNetColorizer`, or of `EncoderUNetColorizer` with an encoder."""
    return build_regressor(encoder, **kwargs)


# The shipped default (weights/autoencoder-lite0.json records the same kwargs under the family's name).
AUTOENCODER_LITE0 = {
    "encoder": "efficientnet-lite0",
    "decoder_widths": [128, 96, 64, 32],
    "refine_width": 16,
    "hint_inputs": True,
    "decode": "regression",
    "grid": 10.0,
    "temperature": 0.38,
    "rebalance_lambda": 0.5,
    "annealed_mix": 0.0,
    "hint_spread": 64,
    "hint_attention": 16,
}
register_variant(
    "autoencoder-lite0",
    "autoencoder",
    AUTOENCODER_LITE0,
    "the shipped default: EfficientNet-Lite0 encoder, U-Net decoder, hint inputs and a learnt hint carrier",
)
