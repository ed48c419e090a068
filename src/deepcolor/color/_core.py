"""Shared pieces of the colour module: the input check and the 3x3 channel mix.

Constants are kept as float64 master tensors on the CPU and cast to the input's device and dtype at each call,
so that float64 inputs see the full precision of the published constants.
"""

from __future__ import annotations

import torch


def check_image(image: object, channels: int = 3) -> None:
    """Raise if `image` is not a floating-point tensor shaped (*, channels, H, W).

    Raises:
        TypeError: not a tensor, or not a floating-point dtype.
        ValueError: fewer than 3 dimensions, or the wrong number of channels at dim -3.
    """
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"Input type is not a torch.Tensor. Got {type(image)}")
    if not image.is_floating_point():
        raise TypeError(f"Input dtype must be a floating point type. Got {image.dtype}")
    if image.dim() < 3 or image.shape[-3] != channels:
        raise ValueError(f"Input size must have a shape of (*, {channels}, H, W). Got {image.shape}")


def mix(weights: torch.Tensor, image: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """out[..., i, h, w] = sum_j weights[i, j] * image[..., j, h, w] for a (3, 3) `weights`.

    One (3, 3) @ (3, H*W) matrix product per image: a single pass over memory, no channel-last copies.
    `out` (no autograd only): a contiguous tensor shaped like `image`, not overlapping it, to write into.
    """
    shape = image.shape
    flat = image.reshape(-1, 3, shape[-2] * shape[-1])  # (B, 3, HW), a view when contiguous
    weights = weights.to(device=image.device, dtype=image.dtype)
    if out is None:
        return torch.matmul(weights, flat).reshape(shape)
    torch.matmul(weights, flat, out=out.view(flat.shape))
    return out


def needs_grad(image: torch.Tensor) -> bool:
    """Whether autograd records operations on `image` (else the buffer-reusing fast paths may run)."""
    return torch.is_grad_enabled() and image.requires_grad


def f64(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)
