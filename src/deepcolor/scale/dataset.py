"""`colorize_dataset`: a list of sources and outputs -> the Ray Dataset of result rows, and `start_ray`.

The driver only plans: it hands Ray the file names; reading, decoding, the network and writing run in the
workers (`RayColorizer`), so the driver's memory does not grow with the images. Results stream back as
batches finish (``ds.iter_rows()``), in no fixed order.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from deepcolor.io import DEFAULT_MAX_PIXELS
from deepcolor.scale.worker import RayColorizer

# No usage report leaves the machine, and no dashboard is started (nothing listens but Ray itself).
_QUIET_ENV = {"RAY_USAGE_STATS_ENABLED": "0"}


def parse_workers(value: str | int | tuple[int, int]) -> tuple[int, int]:
    """``"2"`` -> (2, 2); ``"1,4"`` -> (1, 4) (an autoscaling pool); raises ValueError otherwise."""
    if isinstance(value, int):
        low = high = value
    elif isinstance(value, tuple):
        low, high = value
    else:
        parts = [p.strip() for p in str(value).split(",")]
        if len(parts) not in (1, 2) or not all(p.isdigit() for p in parts):
            raise ValueError(f"workers must be N or MIN,MAX (whole numbers). Got {value!r}")
        low, high = int(parts[0]), int(parts[-1])
    if low < 1 or high < low:
        raise ValueError(f"workers must be at least 1, and MIN <= MAX. Got {value!r}")
    return low, high


def start_ray(address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Connect this process to Ray: a new local Ray on this machine (`address` None, bound to 127.0.0.1
    only), or a running cluster (``"auto"``, ``"HOST:PORT"``). Returns whether a Ray was started or joined
    here (then the caller shuts it down); False when this process was already connected (a test's, a
    notebook's Ray), which is used as it is."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    # The driver's terminal gets deepcolor's lines, not Ray's start-up notes (its logs stay in its session
    # folder); must be set before Ray starts its processes.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    logging.getLogger("ray").setLevel(logging.ERROR)
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
    }
    if address is None:
        # Ray resolves 127.0.0.1 to the machine's outward address unless clusters are off: a local Ray for
        # one machine then listens on the loopback interface only.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        # "local": a new Ray of its own, even where another one runs on this machine (a plain ray.init()
        # would join that one)
        kwargs.update(address="local", num_cpus=num_cpus, _node_ip_address="127.0.0.1")
    else:
        kwargs["address"] = address
    ray.init(**kwargs)
    return True


def colorize_dataset(
    sources: Sequence[str | os.PathLike[str]],
    outputs: Sequence[str | os.PathLike[str]],
    task: str = "colorize",
    *,
    model: str = "default",
    device: str = "auto",
    backend: str = "auto",
    options: Mapping[str, Any] | None = None,
    row_options: Sequence[Mapping[str, Any] | None] | None = None,
    workers: str | int | tuple[int, int] = 1,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float = 0.0,
    batch_size: int = 16,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    overwrite: bool = False,
    skip_existing: bool = False,
    memory_limit: int | None = None,
    worker: type = RayColorizer,
) -> Any:
    """The Ray Dataset of result rows for `sources` -> `outputs` (lazy: nothing runs until it is iterated).

    Args:
        sources, outputs: one output per source: local paths that every worker sees, or fsspec URLs
            (``file://``, ``s3://``...).
        task: "colorize", "enhance" or "decolorize".
        model, device, backend, options, max_pixels, overwrite, skip_existing, memory_limit: as for
            `RayColorizer` (options: the task's options for every image).
        row_options: per source, its own options on top of `options`, or None: colorize's ``hints`` (a hint
            dict or ``"X,Y,COLOR"`` strings), ``hints_file``, ``hint_source``, ``reference`` (a path); sent
            to the workers as a JSON string column, files named there are read on the workers.
        workers: the actor pool: N, or (MIN, MAX) / ``"MIN,MAX"`` for an autoscaling pool.
        cpus_per_worker, gpus_per_worker: resources each worker reserves (a fraction of a GPU shares one).
        batch_size: rows per batch handed to a worker, and most images in one forward pass.
        worker: the callable class (a subclass of `RayColorizer`, for pipelines of your own).

    Returns:
        A `ray.data.Dataset` whose rows are ``source, output, status (ok | failed | skipped), reason,
        seconds, model, notes, uncertainty``: one per source, a bad file a ``failed`` row, not an error.
    """
    os.environ.update({k: v for k, v in _QUIET_ENV.items() if k not in os.environ})
    import ray.data

    if len(sources) != len(outputs):
        raise ValueError(f"one output per source. Got {len(outputs)} outputs for {len(sources)} sources")
    low, high = parse_workers(workers)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the command line draws its own
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="The minimum number of concurrent actors", category=UserWarning)
    items = [{"source": os.fspath(s), "output": os.fspath(o)} for s, o in zip(sources, outputs, strict=True)]
    if row_options is not None:
        if len(row_options) != len(items):
            raise ValueError(f"one row_options per source. Got {len(row_options)} for {len(items)} sources")
        for item, own in zip(items, row_options, strict=True):
            item["options"] = json.dumps(dict(own)) if own else ""
    # A short list still reaches every worker: smaller batches rather than idle workers.
    batch_size = max(1, min(batch_size, math.ceil(len(items) / high)))
    blocks = max(1, math.ceil(len(items) / batch_size))
    dataset = ray.data.from_items(items, override_num_blocks=blocks)
    compute = ray.data.ActorPoolStrategy(min_size=low, max_size=high)
    return dataset.map_batches(
        worker,
        batch_size=batch_size,
        batch_format="numpy",
        compute=compute,
        num_cpus=cpus_per_worker,
        num_gpus=gpus_per_worker,
        fn_constructor_kwargs={
            "task": task,
            "model": model,
            "device": "cuda" if gpus_per_worker > 0 and device == "auto" else device,
            "backend": backend,
            "options": dict(options or {}),
            "max_pixels": max_pixels,
            "overwrite": overwrite,
            "skip_existing": skip_existing,
            "batch_size": batch_size,
            "memory_limit": memory_limit,
            "started": time.time(),
        },
    )
