"""Inference-time folding of batch norm into the convolution before it.

In eval mode a BatchNorm2d after a convolution is an affine map per channel, so it can be folded into the
convolution's weight and bias: w' = w * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(var + eps) + beta.
The network then computes the same function (to float rounding) with one pass over each feature map fewer;
on the CPU that pass is a tenth of the pretrained-encoder default's forward time.

Pairs are found two ways: a Conv2d directly followed by a BatchNorm2d inside an nn.Sequential (ConvNormAct,
the U-Nets), and the (conv, norm) attribute names a module lists in `CONV_BN_PAIRS` (EfficientNet-Lite's
MBConv blocks and stem, whose forward calls them by name). The folded norm becomes nn.Identity.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Fold `bn`'s running statistics and affine parameters into `conv` (in place)."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("a batch norm without running statistics cannot be folded")
    scale = torch.rsqrt(bn.running_var.float() + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.float()
    shift = -bn.running_mean.float() * scale
    if bn.bias is not None:
        shift = shift + bn.bias.float()
    weight = conv.weight.float() * scale.reshape(-1, *([1] * (conv.weight.dim() - 1)))
    bias = shift if conv.bias is None else conv.bias.float() * scale + shift
    conv.weight.copy_(weight.to(conv.weight.dtype))
    if conv.bias is None:
        conv.bias = nn.Parameter(bias.to(conv.weight.dtype), requires_grad=False)
    else:
        conv.bias.copy_(bias.to(conv.bias.dtype))


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    return (
        isinstance(conv, nn.Conv2d)
        and isinstance(bn, nn.BatchNorm2d)
        and bn.track_running_stats
        and bn.num_features == conv.out_channels
    )


def fold_batchnorm(module: nn.Module) -> int:
    """Fold every foldable batch norm of `module` (which must be in eval mode) into its convolution, in place.

    Returns:
        How many batch norms were folded.

    Raises:
        ValueError: the module is in training mode (its norms still use batch statistics).
    """
    if module.training:
        raise ValueError("fold_batchnorm needs a module in eval mode (call .eval() first)")
    folded = 0
    for parent in module.modules():
        if isinstance(parent, nn.Sequential):
            names = list(parent._modules)
            for first, second in zip(names, names[1:], strict=False):
                conv, bn = parent._modules[first], parent._modules[second]
                if _foldable(conv, bn):
                    fold_conv_bn(conv, bn)
                    parent._modules[second] = nn.Identity()
                    folded += 1
        for conv_name, bn_name in getattr(parent, "CONV_BN_PAIRS", ()):
            conv, bn = getattr(parent, conv_name, None), getattr(parent, bn_name, None)
            if conv is not None and bn is not None and _foldable(conv, bn):
                fold_conv_bn(conv, bn)
                setattr(parent, bn_name, nn.Identity())
                folded += 1
    return folded
