"""Test inputs for the colour tests: edge colours, seeded random images, and samplers that keep gradcheck
inputs away from the kinks of each conversion."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

# Black, white, greys, primaries, secondaries, and values on both sides of the sRGB thresholds.
EDGE_RGB = np.array(
    [
        [0.0, 0.0, 0.0],
        [1.0, 1.0, 1.0],
        [0.5, 0.5, 0.5],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.0, 1.0, 1.0],
        [1.0, 0.0, 1.0],
        [1.0, 1.0, 0.0],
        [0.04045, 0.04044, 0.04046],
        [0.0031308, 0.0031307, 0.0031309],
        [0.001, 0.999, 0.25],
        [0.2, 0.2, 0.8],
        [0.8, 0.2, 0.2],
        [0.2, 0.8, 0.2],
        [0.9, 0.9, 0.1],
    ]
)

# Lab triples, in and far out of the sRGB gamut (negative f(Z) included: L = 10, b = +127).
EDGE_LAB = np.array(
    [
        [0.0, 0.0, 0.0],
        [100.0, 0.0, 0.0],
        [50.0, 0.0, 0.0],
        [53.24, 80.09, 67.2],
        [87.73, -86.18, 83.18],
        [32.3, 79.19, -107.86],
        [50.0, 127.0, 127.0],
        [50.0, -128.0, -128.0],
        [10.0, 0.0, 127.0],
        [100.0, 127.0, -128.0],
        [0.0, 50.0, -50.0],
        [8.0, 0.0, 0.0],
        [7.9996, 0.0, 0.0],
        [8.000003, 0.0, 0.0],  # between 116 * 6/29 - 16 and skimage's rounded threshold
        [75.0, -20.0, 40.0],
    ]
)


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """(..., H, W, C) numpy -> (..., C, H, W) tensor (shares memory where it can)."""
    return torch.from_numpy(np.ascontiguousarray(array)).movedim(-1, -3)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """(..., C, H, W) tensor -> (..., H, W, C) numpy."""
    return tensor.detach().movedim(-3, -1).cpu().numpy()


def as_image(pixels: np.ndarray) -> np.ndarray:
    """(N, 3) pixels -> (1, N, 3) image."""
    return pixels[None, :, :]


def random_rgb(shape: tuple[int, int] = (8, 9), seed: int = 0) -> np.ndarray:
    """(H, W, 3) float64 in [0, 1], with some exact 0s and 1s."""
    rng = np.random.default_rng(seed)
    rgb = rng.random((*shape, 3))
    rgb[0, 0] = 0.0
    rgb[0, 1] = 1.0
    return rgb


def random_lab(shape: tuple[int, int] = (8, 9), seed: int = 0) -> np.ndarray:
    """(H, W, 3) float64 Lab over the whole box L [0, 100], a, b [-128, 127]: mostly out of the sRGB gamut."""
    rng = np.random.default_rng(seed)
    return np.stack(
        [rng.uniform(0, 100, shape), rng.uniform(-128, 127, shape), rng.uniform(-128, 127, shape)], axis=-1
    )


def sample_pixels(
    n: int, low: float, high: float, ok: Callable[[np.ndarray], np.ndarray], seed: int = 0
) -> np.ndarray:
    """n pixels (n, 3) uniform in [low, high] for which `ok(pixels) -> (N,) bool` holds."""
    rng = np.random.default_rng(seed)
    chosen: list[np.ndarray] = []
    while sum(len(c) for c in chosen) < n:
        candidates = rng.uniform(low, high, (4 * n, 3))
        chosen.append(candidates[ok(candidates)])
    return np.concatenate(chosen)[:n]


def far_from(values: np.ndarray, points: tuple[float, ...], margin: float) -> np.ndarray:
    """(N, ...) -> (N,) bool: every value of a row is at least `margin` from every point."""
    flat = values.reshape(len(values), -1)
    return np.all([np.all(np.abs(flat - p) > margin, axis=1) for p in points], axis=0)


def grad_input(pixels: np.ndarray, width: int = 3) -> torch.Tensor:
    """(N, C) pixels -> (1, C, N // width, width) float64 tensor that requires grad."""
    image = pixels[: len(pixels) // width * width].reshape(1, -1, width, pixels.shape[-1])
    return to_tensor(image).clone().requires_grad_(True)
