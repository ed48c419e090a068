"""`gan`: a pix2pix-style conditional GAN.

The generator is `UNetColorizer` itself (so `create_model("gan")` returns one, and it can start from an
autoencoder checkpoint: that L1 pre-training is the NoGAN recipe); the PatchGAN discriminator below is used
only during training and never shipped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepcolor.models.autoencoder import AUTOENCODER_LITE0, build_regressor
from deepcolor.models.layers import make_norm
from deepcolor.models.registry import by_encoder, register_model, register_variant


@register_model(
    "gan",
    "U-Net generator trained with L1 + PatchGAN adversarial loss",
    task=by_encoder("adversarial", "joint-adversarial"),
)
def gan_generator(encoder: str = "unet", **kwargs: object) -> nn.Module:
    """The GAN's generator: the `autoencoder` family's model with the same kwargs."""
    return build_regressor(encoder, **kwargs)


class PatchDiscriminator(nn.Module):
    """PatchGAN: (L, ab) pairs (B, 3, H, W) -> real/fake logits (B, 1, H / 2^n, W / 2^n) per patch.

    Args:
        width: channels of the first layer (doubling per layer, capped at 8x).
        layers: stride-2 layers; the receptive field grows with each.
        norm: "group", "batch" or "none" (none on the first layer, as pix2pix).
        pool: the pair is average-pooled by this factor first (1: judged at full resolution).
    """

    def __init__(self, width: int = 32, layers: int = 3, norm: str = "group", pool: int = 1) -> None:
        super().__init__()
        if pool < 1:
            raise ValueError(f"pool must be >= 1. Got {pool}")
        self.pool = int(pool)
        blocks: list[nn.Module] = [nn.Conv2d(3, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        c = width
        for i in range(1, layers):
            c_next = width * min(2**i, 8)
            blocks += [
                nn.Conv2d(c, c_next, 4, 2, 1, bias=False),
                make_norm(norm, c_next),
                nn.LeakyReLU(0.2, True),
            ]
            c = c_next
        blocks += [nn.Conv2d(c, c, 3, 1, 1, bias=False), make_norm(norm, c), nn.LeakyReLU(0.2, True)]
        blocks.append(nn.Conv2d(c, 1, 3, 1, 1))
        self.net = nn.Sequential(*blocks)

    def forward(self, l_norm: torch.Tensor, ab_norm: torch.Tensor) -> torch.Tensor:
        pair = torch.cat((l_norm, ab_norm), dim=1)
        if self.pool > 1:
            pair = F.avg_pool2d(pair, self.pool, ceil_mode=True)
        return self.net(pair)


# The realistic family on the shipped default's trunk: NoGAN style, the default's regression first, then an
# adversary that sets only how much chroma each region gets (a saturation head; the hue stays the
# regression's): configs/gan-lite0.yaml, docs/models/gan-lite0.md
GAN_LITE0 = {**AUTOENCODER_LITE0, "saturation_width": 16, "max_saturation": 2.0, "saturation_entropy": True}
register_variant(
    "gan-lite0",
    "gan",
    GAN_LITE0,
    "the realistic one: the default's trunk and hue, the chroma of each region set against a PatchGAN critic",
)
