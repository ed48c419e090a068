"""One local Ray for the whole test run (a start costs seconds): `ray_address`, bound to 127.0.0.1.

Skipped where Ray is not installed, except under CI=true, where its absence fails the tests: CI installs the
``dev`` extra, which holds ``ray[data]``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

# No usage report, no dashboard, nothing bound beyond the loopback interface (Ray resolves 127.0.0.1 to the
# machine's outward address unless clusters are off). Set before Ray is imported; its workers inherit them.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def import_ray():
    """`ray`, or skip (fail under CI=true) when the ``ray`` extra is not installed."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as error:
        reason = f"Ray is not installed ({error}); pip install -e '.[ray]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}: CI must run the Ray tests (the dev extra installs ray[data])")
        pytest.skip(reason)
    return ray


@pytest.fixture(scope="session")
def ray_address() -> str:
    """The GCS address (127.0.0.1:PORT) of the test run's local Ray (2 CPUs), started once."""
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(
            address="local",  # its own, even if another Ray runs on this machine (a benchmark's)
            num_cpus=2,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            configure_logging=False,
        )
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def write_photos(folder, count: int, seed: int = 0, size: tuple[int, int] = (36, 48)) -> list:
    """`count` small grey PNG photos (smooth ramps and noise) of a few sizes in `folder`; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        h, w = size[0] + 4 * (i % 3), size[1] + 2 * (i % 2)
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        grey = 0.5 + 0.3 * np.sin(x / (3 + i % 5)) * np.cos(y / 7) + rng.normal(0, 0.03, (h, w))
        path = folder / f"photo{i:03d}.png"
        Image.fromarray((np.clip(grey, 0, 1) * 255).astype(np.uint8), "L").save(path)
        paths.append(path)
    return paths
