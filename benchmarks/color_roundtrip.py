"""sRGB -> Lab -> sRGB round trip on a 12-megapixel float32 image: deepcolor.color against scikit-image.

Every method converts the same array, one after another in this process, with torch's default threads.
Prints, for each: the median and best wall time of several interleaved runs, the peak extra resident memory
of one run (Linux: measured in a fresh child process, peak RSS minus RSS before the call), the round trip's
max abs error, and the Lab difference to scikit-image.

    python benchmarks/color_roundtrip.py                  # 4000 x 3000, 5 runs each
    python benchmarks/color_roundtrip.py --size 2000x1500 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import skimage.color
import torch

import deepcolor.color as color
from deepcolor.color import numpy as color_np

try:
    import cv2
except ImportError:  # OpenCV is optional (the `bench` extra)
    cv2 = None

OURS = "deepcolor.color (tensor, CHW)"
SKIMAGE = "skimage rgb2lab + lab2rgb"
STATUS = Path("/proc/self/status")


def _status_kib(field: str) -> int | None:
    if not STATUS.exists():
        return None
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def make_image(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth photo-like image (gradients, waves) plus noise: (H, W, 3) float32 sRGB in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([xx / width, yy / height, 0.5 + 0.5 * np.sin(xx / 97 + yy / 131)], axis=-1)
    rgb += rng.normal(0, 0.05, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0, 1, out=rgb)


def round_trips(rgb: np.ndarray) -> dict[str, Callable[[], object]]:
    """The methods, each a closure over the same array."""
    rgb_chw = torch.from_numpy(rgb).permute(2, 0, 1).contiguous()  # (3, H, W), as a model would hold it

    def torch_round_trip() -> torch.Tensor:
        with torch.no_grad():
            return color.lab_to_rgb(color.rgb_to_lab(rgb_chw))

    def numpy_wrapper_round_trip() -> np.ndarray:
        return color_np.lab_to_rgb(color_np.rgb_to_lab(rgb))

    def skimage_round_trip() -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return skimage.color.lab2rgb(skimage.color.rgb2lab(rgb))

    methods: dict[str, Callable[[], object]] = {
        OURS: torch_round_trip,
        "deepcolor.color.numpy (HWC)": numpy_wrapper_round_trip,
        SKIMAGE: skimage_round_trip,
    }
    if cv2 is not None:
        methods["OpenCV cvtColor (approximate)"] = lambda: cv2.cvtColor(
            cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab), cv2.COLOR_Lab2RGB
        )
    return methods


def peak_extra_mib(name: str, size: str, seed: int) -> float | None:
    """Run one method once in a fresh process; its peak RSS minus its RSS just before the call, in MiB."""
    if not STATUS.exists():
        return None
    here = str(Path(__file__).parent)
    code = f"import sys; sys.path.insert(0, {here!r}); import color_roundtrip as b; "
    code += f"b.child_peak({name!r}, {size!r}, {seed})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def child_peak(name: str, size: str, seed: int) -> None:
    width, height = (int(v) for v in size.lower().split("x"))
    methods = round_trips(make_image(width, height, seed))
    before = _status_kib("VmRSS")
    methods[name]()
    after = _status_kib("VmHWM")
    print((after - before) / 1024 if before is not None and after is not None else "n/a")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="4000x3000", help="WIDTHxHEIGHT of the test image (default 12 MP)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per method; the median is reported")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    rgb = make_image(width, height, args.seed)
    methods = round_trips(rgb)

    lab_difference = float(np.abs(color_np.rgb_to_lab(rgb) - skimage.color.rgb2lab(rgb)).max())
    print(
        f"sRGB -> Lab -> sRGB, {width}x{height} ({width * height / 1e6:.1f} MP) float32, "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads, {args.repeats} runs each "
        "(interleaved, so that other load on the machine hits every method alike)"
    )
    errors: dict[str, float] = {}
    times: dict[str, list[float]] = {name: [] for name in methods}
    for run in range(args.repeats):
        for name, fn in methods.items():
            start = time.perf_counter()
            out = fn()
            times[name].append(time.perf_counter() - start)
            if run == 0:
                out_hwc = out.permute(1, 2, 0).numpy() if isinstance(out, torch.Tensor) else np.asarray(out)
                errors[name] = float(np.abs(out_hwc - rgb).max())
            del out

    header = f"{'method':32s} {'median s':>9s} {'best s':>8s} {'peak extra MiB':>15s} {'round-trip err':>15s}"
    print(header)
    print("-" * len(header))
    for name in methods:
        peak_mib = peak_extra_mib(name, args.size, args.seed)
        peak = f"{peak_mib:15.0f}" if peak_mib is not None else f"{'n/a':>15s}"
        median = statistics.median(times[name])
        print(f"{name:32s} {median:9.3f} {min(times[name]):8.3f} {peak} {errors[name]:15.2e}")
    print("-" * len(header))
    ours, reference = statistics.median(times[OURS]), statistics.median(times[SKIMAGE])
    print(f"speed-up of deepcolor.color over scikit-image: {reference / ours:.2f}x (median vs median)")
    print(f"max |Lab(deepcolor) - Lab(skimage)| on this image, float32: {lab_difference:.2e}")
    print(f"image itself: {rgb.nbytes / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
