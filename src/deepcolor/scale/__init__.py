"""deepcolor on a Ray cluster: the same batch as the local engine, run by workers that load the model once.

- `colorize_dataset(sources, outputs, task, ...) -> ray.data.Dataset` of result rows (source, output,
  status ok | failed | skipped, reason, seconds, model, notes, uncertainty);
- `RayColorizer`: the worker class (`Dataset.map_batches`), for Ray pipelines of your own;
- `start_ray(address)`: a local Ray bound to 127.0.0.1, or join a cluster (``"auto"``, ``"HOST:PORT"``);
- `deepcolor.scale.manifest`: the JSON Lines manifest both engines write (needs no Ray);
- `deepcolor.scale.files`: local paths and fsspec URLs, atomic writes.

Needs the ``ray`` extra (``pip install "deepcolor[ray]"``); importing this package does not import Ray.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RayColorizer", "colorize_dataset", "start_ray", "parse_workers"]


def __getattr__(name: str) -> Any:
    if name == "RayColorizer":
        from deepcolor.scale.worker import RayColorizer

        return RayColorizer
    if name in ("colorize_dataset", "start_ray", "parse_workers"):
        from deepcolor.scale import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module 'deepcolor.scale' has no attribute {name!r}")
