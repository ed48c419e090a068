"""Choosing the compute device: `auto` means CUDA when present, else the CPU."""

from __future__ import annotations

import torch


def pick_device(name: str = "auto") -> torch.device:
    """Resolve a device name (`auto`, `cpu`, `cuda`, `cuda:1`, `mps`) to a `torch.device`.

    Raises:
        ValueError: the device is not available on this machine (the message says which ones are).
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but CUDA is not available here (use --device cpu)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} asked for, but MPS is not available here (use --device cpu)")
    return device
