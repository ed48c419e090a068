"""Choosing the compute device: `auto` means CUDA when present, else the CPU.

`check_device_name` only reads the spelling and imports nothing heavy, so the command line can refuse
``--device tpu`` as a usage error before torch loads; `pick_device` also checks that the device is there.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICE_NAMES = "auto, cpu, cuda, cuda:N (N = 0, 1, ...), mps"
_DEVICE = re.compile(r"(auto|cpu|cuda|mps)(:(\d+))?")


def check_device_name(name: str) -> str:
    """Return `name` when it spells a device deepcolor can use (`auto`, `cpu`, `cuda`, `cuda:N`, `mps`).

    Raises:
        ValueError: an unknown device or a malformed index (``tpu``, ``cuda:x``, ``cuda:-1``); the message
            names it and lists the spellings.
    """
    match = _DEVICE.fullmatch(name) if isinstance(name, str) else None
    if match is None or (match[1] == "auto" and match[2]):
        raise ValueError(f"unknown device {name!r} (use one of: {DEVICE_NAMES})")
    return name


def pick_device(name: str = "auto") -> torch.device:
    """Resolve a device name (`auto`, `cpu`, `cuda`, `cuda:1`, `mps`) to a `torch.device`.

    Raises:
        ValueError: the name is not a device (see `check_device_name`), or the device is not available on
            this machine (the message says what to use instead).
    """
    import torch

    check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} asked for, but CUDA is not available here (use --device cpu)")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"device {name!r} asked for, but this machine has {count} CUDA device(s): "
                f"use cuda:0 to cuda:{count - 1}"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} asked for, but MPS is not available here (use --device cpu)")
    return device
