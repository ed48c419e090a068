"""NumPy images <-> PyTorch batches: the layout change that every model call needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, C) NumPy image -> (1, C, H, W) float32 tensor (C = 1 for (H, W)).

    Values are kept as they are (uint8 becomes 0..255 floats; read images are already float in [0, 1]).
    """
    import torch

    a = np.asarray(array)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"Expected an (H, W) or (H, W, C) image. Got shape {a.shape}")
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32)).unsqueeze(0)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) or (C, H, W) tensor, any device -> (H, W, C) float32 NumPy array (C = 1 stays)."""
    if tensor.ndim == 4:
        if tensor.shape[0] != 1:
            raise ValueError(f"Expected a batch of one, (1, C, H, W). Got shape {tuple(tensor.shape)}")
        tensor = tensor[0]
    if tensor.ndim != 3:
        raise ValueError(f"Expected (1, C, H, W) or (C, H, W). Got shape {tuple(tensor.shape)}")
    import torch

    return np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).permute(1, 2, 0).numpy())
