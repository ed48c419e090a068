"""`deepcolor info`: versions, threads and the device that would be used, for bug reports."""

from __future__ import annotations

import importlib.util
import platform
import sys

import click


def collect() -> list[tuple[str, str]]:
    """(name, value) rows that `deepcolor info` prints."""
    import numpy
    import PIL
    import torch

    import deepcolor
    from deepcolor.device import pick_device

    device = pick_device("auto")
    if device.type == "cuda":
        where = f"cuda ({torch.cuda.get_device_name(device)}, {torch.cuda.device_count()} GPU(s))"
    else:
        where = "cpu (no CUDA GPU found)" if not torch.cuda.is_available() else "cpu"
    cuda_build = torch.version.cuda or "none (CPU build)"
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime

        onnx = f"{onnxruntime.__version__} (importable)"
    else:
        onnx = "not installed (pip install 'deepcolor[onnx]' for ONNX export and runtime)"
    return [
        ("deepcolor", deepcolor.__version__),
        ("Python", f"{platform.python_version()} ({sys.executable})"),
        ("PyTorch", f"{torch.__version__} (CUDA build: {cuda_build})"),
        ("torch threads", f"{torch.get_num_threads()} intra-op, {torch.get_num_interop_threads()} inter-op"),
        ("device", where),
        ("onnxruntime", onnx),
        ("NumPy", numpy.__version__),
        ("Pillow", PIL.__version__),
    ]


@click.command()
def command() -> None:
    """Print versions, PyTorch threads and the device that `auto` would pick."""
    rows = collect()
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        click.echo(f"{name:<{width}}  {value}")
