"""Training throughput: images per second of a full training step (uint8 batch -> Lab -> forward, loss,
backward, AdamW) for each model family at 64 and 128 px, with the presets' model kwargs, and peak memory.
Also the data pipeline alone (tar shard -> decode -> random resized crop -> grey check) in images per second.

Each (family, size) runs in a fresh process, so its peak RSS is its own. Figures are the median of
`--repeats` timed runs of `--steps` steps after warm-up steps; the GAN is timed in its adversarial phase.

    python benchmarks/train_throughput.py                   # CPU, 64 and 128 px
    python benchmarks/train_throughput.py --device cuda     # on a GPU (AMP as in training)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAMILIES = ["autoencoder", "cnn", "gan"]


def measure_step(family: str, size: int, batch: int, steps: int, repeats: int, device_name: str) -> dict:
    import torch

    from deepcolor.data import rgb_batch_to_lab
    from deepcolor.device import pick_device
    from deepcolor.models import create_model
    from deepcolor.models.gan import PatchDiscriminator
    from deepcolor.train.config import load_config
    from deepcolor.train.tasks import ClassifierTask, GANTask, RegressionTask

    device = pick_device(device_name)
    config = load_config(REPO / "configs" / f"{family}.yaml", {"pretrain_steps": 0})
    torch.manual_seed(0)
    model = create_model(family, **config.model_kwargs).to(device)
    if family == "gan":
        disc = PatchDiscriminator(config.disc_width, config.disc_layers).to(device)
        task = GANTask(model, model, config, device, disc, disc)
    elif family == "cnn":
        task = ClassifierTask(model, model, config, device)
    else:
        task = RegressionTask(model, model, config, device)
    # colourful synthetic crops: smooth random fields (content does not change the cost)
    grid = torch.rand(batch, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    rgb = torch.nn.functional.interpolate(grid, size=(size, size), mode="bilinear", align_corners=False)
    rgb_u8 = (rgb * 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    step = 0

    def run(n: int) -> None:
        nonlocal step
        for _ in range(n):
            l_norm, ab_norm = rgb_batch_to_lab(rgb_u8, device)
            task.step(l_norm, ab_norm, step)
            step += 1

    run(3)  # warm-up (allocator, kernels, first-step costs)
    sync()
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        run(steps)
        sync()
        rates.append(steps * batch / (time.perf_counter() - t))
    out = {
        "family": family,
        "size": size,
        "images_per_s": statistics.median(rates),
        "spread": (min(rates), max(rates)),
        "peak_rss_mb": _peak_rss_mb(),
        "device": str(device),
    }
    if device.type == "cuda":
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def measure_data(size: int, images: int, workers: int, repeats: int) -> dict:
    from deepcolor.data import ImageStream, build_index, make_loader
    from deepcolor.train.config import TrainConfig

    config = TrainConfig()
    index = build_index([config.resolve_path(p) for p in config.train_data])
    rates = []
    for r in range(repeats):
        stream = ImageStream(index, size, 32, seed=r, num_workers=workers)
        loader = iter(make_loader(stream, workers))
        next(loader)  # start-up (worker fork) is not throughput
        t = time.perf_counter()
        seen = 0
        while seen < images:
            seen += next(loader)["rgb"].shape[0]
        rates.append(seen / (time.perf_counter() - t))
        del loader
    return {
        "size": size,
        "workers": workers,
        "images_per_s": statistics.median(rates),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _child(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    if args.child == "data":
        result = measure_data(args.size, args.data_images, args.workers, args.repeats)
    else:
        result = measure_step(args.child, args.size, args.batch_size, args.steps, args.repeats, args.device)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--families", nargs="+", default=FAMILIES, choices=FAMILIES)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=8, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the median is reported")
    parser.add_argument(
        "--threads",
        type=int,
        default=max(1, (os.cpu_count() or 2) - 1),
        help="torch threads (default: as training, the cores left after one data worker)",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=1, help="data loader workers for the data figure")
    parser.add_argument("--data-images", type=int, default=1024, help="images per timed data run")
    parser.add_argument("--no-data", action="store_true", help="skip the data pipeline figure")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return

    import torch

    print(
        f"torch {torch.__version__}, {args.threads} threads, device {args.device}, batch {args.batch_size}, "
        f"median of {args.repeats} x {args.steps} steps; CPU load average {os.getloadavg()[0]:.1f} at start"
    )
    jobs = [(family, size) for size in args.sizes for family in args.families]
    if not args.no_data:
        jobs += [("data", size) for size in args.sizes]
    results = []
    for child, size in jobs:
        command = [sys.executable, __file__, "--child", child, "--size", str(size)] + _pass_through(args)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{child} @ {size}px failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        results.append((child, json.loads(done.stdout.strip().splitlines()[-1])))

    print(
        f"\n{'what':<13} {'size':>5} {'images/s':>9} {'(min-max)':>15} {'peak RSS':>9}"
        + ("  peak CUDA" if args.device.startswith("cuda") else "")
    )
    for child, r in results:
        spread = (
            f"({r['spread'][0]:.0f}-{r['spread'][1]:.0f})" if "spread" in r else f"{r['workers']} worker(s)"
        )
        line = f"{child:<13} {r['size']:>5} {r['images_per_s']:>9.1f} {spread:>15} {r['peak_rss_mb']:>7.0f}MB"
        if "peak_cuda_mb" in r:
            line += f"  {r['peak_cuda_mb']:>7.0f}MB"
        print(line)


def _pass_through(args: argparse.Namespace) -> list[str]:
    return [
        "--batch-size",
        str(args.batch_size),
        "--steps",
        str(args.steps),
        "--repeats",
        str(args.repeats),
        "--threads",
        str(args.threads),
        "--device",
        args.device,
        "--workers",
        str(args.workers),
        "--data-images",
        str(args.data_images),
    ]


if __name__ == "__main__":
    main()
