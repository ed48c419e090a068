"""An archive through the local engine and through `--engine ray`: throughput, start-up, memory, scaling.

Makes N grey JPEG crops (default 500) of the validation photos (../shared/data/val: bsd100 and wallpapers) at
mixed sizes (longer side 96-384 px), then runs the same `deepcolor colorize` command line, each in a fresh
process, through:

- ``local``: the local engine (one process, PyTorch on every core);
- ``ray-1`` / ``ray-2``: ``--engine ray --workers 1`` / ``2`` on a Ray started by the command (one CPU each);
- ``cluster-2``: ``--workers 2 --ray-address`` to a two-node cluster simulated here (two raylets of one CPU
  each beside one GCS, all on 127.0.0.1: Ray's own ``ray.cluster_utils.Cluster``, since ``ray start
  --address`` refuses a second node on a machine whose Ray is bound to the loopback interface).

Each engine runs twice, over the first tenth of the crops and over all of them: the marginal rate of the
other nine tenths is its rate once started, and the wall time minus N over that rate its start-up (process,
model, Ray and its workers). Every 0.2 s the peak resident memory (VmHWM) of the driver and of each Ray
worker process running `RayColorizer` is sampled, and the CPU time of every process under this one (the
command, Ray's own processes, its workers). Printed per engine: wall time, start-up, images per second over
the whole run and once started, CPU seconds per image once started, driver and worker peak memory, each
against the local engine. Medians over --repeats.

Then the driver's memory with the number of inputs: ``decolorize --method luma601`` over 500 and over 5,000
tiny files (16 x 16 PNG) through ``--engine ray --workers 2``; the driver's peak resident memory for each.

    python benchmarks/scale.py                                   # prints a markdown report
    python benchmarks/scale.py --output benchmarks/results/scale.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DEEPCOLOR_DATA", REPO.parent / "shared" / "data")) / "val"
SIDES = (96, 128, 160, 224, 256, 320, 384)


def make_crops(folder: Path, count: int, seed: int = 0) -> None:
    """`count` grey JPEG crops of the validation photos, longer side drawn from `SIDES`, aspect 3:4 to 4:3."""
    photos = sorted((DATA / "bsd100").glob("*.png")) + sorted((DATA / "wallpapers").glob("*.jpg"))
    if not photos:
        sys.exit(f"scale: no validation photos under {DATA}")
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    cache: dict[Path, Image.Image] = {}
    for i in range(count):
        path = photos[i % len(photos)]
        if path not in cache:
            with Image.open(path) as im:
                im = im.convert("L")
                im.thumbnail((1024, 1024))
                cache[path] = im.copy()
        im = cache[path]
        side = int(rng.choice(SIDES))
        w, h = (side, int(side * rng.uniform(0.75, 1.0)))[:: 1 if rng.random() < 0.5 else -1]
        w, h = min(w, im.width), min(h, im.height)
        x, y = int(rng.integers(0, im.width - w + 1)), int(rng.integers(0, im.height - h + 1))
        im.crop((x, y, x + w, y + h)).save(folder / f"crop{i:05d}.jpg", quality=90)


def make_tiny(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(folder / f"t{i:05d}.png")


def _hwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _worker_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if b"RayColorizer" in f.read():
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU ticks used: user + system) for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                table[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
            except (OSError, ValueError, IndexError):
                pass
    return table


def _descendants_cpu(table: dict[int, tuple[int, int]], root: int) -> dict[int, int]:
    """CPU ticks of every process under `root` (this benchmark): the command, Ray's processes, its workers."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = {}, list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found[pid] = table[pid][1]
        stack.extend(children.get(pid, []))
    return found


def run(args: list[str], manifest: Path, env: dict[str, str]) -> dict[str, object]:
    """One command: its wall time, the times its manifest rows appeared, driver and worker peak memory."""
    before = set(_worker_pids())  # a previous run's workers still exiting are not this run's
    cpu_before = _descendants_cpu(_process_table(), os.getpid())  # a simulated cluster's, started already
    cpu: dict[int, int] = {}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "deepcolor", *args, "--manifest", str(manifest)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    stamps: list[float] = []
    peaks = {"driver": 0, "workers": {}}
    stop = threading.Event()

    def sample() -> None:
        seen = 0
        while not stop.is_set():
            peaks["driver"] = max(peaks["driver"], _hwm_kib(process.pid) or 0)
            ours = _descendants_cpu(_process_table(), os.getpid())
            for pid, ticks in ours.items():
                cpu[pid] = max(cpu.get(pid, 0), ticks)
            for pid in (set(_worker_pids()) & set(ours)) - before:  # not another program's Ray workers
                peaks["workers"][pid] = max(peaks["workers"].get(pid, 0), _hwm_kib(pid) or 0)
            if manifest.exists():
                with open(manifest) as f:
                    n = sum(1 for line in f if line.endswith("\n"))
                now = time.perf_counter() - started
                stamps.extend([now] * (n - seen))
                seen = n
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"scale: {' '.join(args)} failed ({process.returncode}):\n{stderr[-2000:]}")
    return {
        "images": len(stamps),
        "wall": wall,
        "first": stamps[0],
        "rate": len(stamps) / wall,
        "cpu_s": sum(t - cpu_before.get(pid, 0) for pid, t in cpu.items()) / os.sysconf("SC_CLK_TCK"),
        "driver_mib": peaks["driver"] / 1024,
        "worker_mib": sorted(v / 1024 for v in peaks["workers"].values()),
    }


def median_of(runs: list[dict[str, object]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--listing", type=int, default=5000, help="inputs of the driver-memory run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()

    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    os.environ.update({k: env[k] for k in ("RAY_USAGE_STATS_ENABLED", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")})
    root = Path(tempfile.mkdtemp(prefix="dcscale"))
    crops = root / "crops"
    make_crops(crops, args.images)
    small = root / "crops-small"  # the first tenth: the marginal rate of the rest is the rate once started
    small.mkdir()
    for path in sorted(crops.iterdir())[: args.images // 10]:
        os.link(path, small / path.name)
    print(f"{args.images} crops in {crops}", file=sys.stderr)

    from ray.cluster_utils import Cluster

    engines = {
        "local": [],
        "ray-1": ["--engine", "ray", "--workers", "1"],
        "ray-2": ["--engine", "ray", "--workers", "2"],
        "cluster-2": ["--engine", "ray", "--workers", "2", "--ray-address", "CLUSTER"],
    }
    results: dict[str, list[dict[str, object]]] = {name: [] for name in engines}
    for repeat in range(args.repeats):
        for name, extra in engines.items():
            sizes = {}
            for label, folder in (("small", small), ("all", crops)):
                cluster = None
                argv = list(extra)
                if "CLUSTER" in argv:
                    cluster = Cluster(
                        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
                    )
                    cluster.add_node(num_cpus=1)
                    cluster.wait_for_nodes()
                    argv = [cluster.address if a == "CLUSTER" else a for a in argv]
                out = root / f"out-{name}-{label}-{repeat}"
                try:
                    command = ["colorize", str(folder), "-o", str(out), *argv]
                    sizes[label] = run(command, root / f"{name}-{label}-{repeat}.jsonl", env)
                finally:
                    if cluster is not None:
                        cluster.shutdown()
            whole, part = sizes["all"], sizes["small"]
            rate = (whole["images"] - part["images"]) / (whole["wall"] - part["wall"])
            result = {**whole, "rate_started": rate, "startup": whole["wall"] - whole["images"] / rate}
            # CPU seconds per image once started (every process of the run: command, Ray, workers)
            result["cpu_per_image"] = (whole["cpu_s"] - part["cpu_s"]) / (whole["images"] - part["images"])
            results[name].append(result)
            print(f"{name} #{repeat + 1}: {result} (first tenth: {part})", file=sys.stderr)

    tiny = {}
    for count in (500, args.listing):
        folder = root / f"tiny{count}"
        make_tiny(folder, count)
        engine = ["--engine", "ray", "--workers", "2", "--batch-size", "64"]
        cmd = ["decolorize", str(folder), "-o", str(root / f"grey{count}"), "--method", "luma601", *engine]
        tiny[count] = run(cmd, root / f"tiny{count}.jsonl", env)
        print(f"tiny {count}: {tiny[count]}", file=sys.stderr)

    local_rate = median_of(results["local"], "rate_started")
    local_cpu = median_of(results["local"], "cpu_per_image")
    lines = [
        "# Archive throughput: local engine and Ray (`benchmarks/scale.py`)",
        "",
        f"{args.images} grey JPEG crops of the validation photos (longer side 96-384 px) through `deepcolor "
        f"colorize` (the shipped default model, CPU), each run a fresh process; medians of {args.repeats} "
        f"runs. Machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f} at the end (other jobs on the "
        "machine lower the figures and add noise: ratios between rows are what to read).",
        "",
        "Once started = the marginal rate: (N - N/10) / (wall of N - wall of the first N/10) over two runs; "
        "start-up = wall - N / that rate (process start, model load, Ray's start and its workers').",
        "",
        "CPU s/image: CPU time of every process of the run (the command, Ray's own processes, its workers) "
        "per image once started, the same marginal way: on a loaded machine the fairer measure of overhead.",
        "",
        "| engine | wall s | start-up s | images/s (whole run) | images/s once started | vs local once "
        "started | CPU s/image | vs local | driver peak MiB | worker peak MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, runs in results.items():
        rate = median_of(runs, "rate_started")
        cpu = median_of(runs, "cpu_per_image")
        workers = runs[len(runs) // 2]["worker_mib"]
        lines.append(
            f"| {name} | {median_of(runs, 'wall'):.1f} | {median_of(runs, 'startup'):.1f} | "
            f"{median_of(runs, 'rate'):.2f} | {rate:.2f} | {100 * (rate / local_rate - 1):+.0f}% | "
            f"{cpu:.3f} | {100 * (cpu / local_cpu - 1):+.0f}% | "
            f"{median_of(runs, 'driver_mib'):.0f} | {', '.join(f'{w:.0f}' for w in workers) or '-'} |"
        )
    r1, r2 = median_of(results["ray-1"], "rate_started"), median_of(results["ray-2"], "rate_started")
    lines += [
        "",
        f"Scaling, once started: 2 workers / 1 worker = {r2 / r1:.2f}x (goal >= 1.7x); Ray with 2 workers / "
        f"the local engine = {r2 / local_rate:.2f} (goal >= 0.85).",
        "",
        "Driver memory with the number of inputs (`decolorize --method luma601 --engine ray --workers 2 "
        "--batch-size 64` over 16 x 16 PNGs; the driver lists the files and receives one row per file):",
        "",
        "| inputs | wall s | images/s | driver peak MiB |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for count, result in tiny.items():
        lines.append(
            f"| {count} | {result['wall']:.1f} | {result['rate']:.1f} | {result['driver_mib']:.0f} |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)


if __name__ == "__main__":
    main()
