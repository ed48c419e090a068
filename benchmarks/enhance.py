"""`deepcolor enhance` on faded colour prints: CIEDE2000 to the original and colourfulness, beside classical
white balance and levels.

Each photo of the sets is faded by `deepcolor.data.degrade.random_fade` (a fading drawn per photo from a seed:
cyan or magenta fading first, the other dyes less, a yellow stain, flare; see that module for the model and
why), rounded to 8 bits, then restored by each method and compared with the original photo (the truth):

- faded: the input itself;
- gray-world: each channel scaled in linear light so that the three channel means are equal;
- white patch: each channel scaled so that its 99th percentile is white;
- autocontrast: Pillow's `ImageOps.autocontrast(cutoff=1)`, per channel (levels: 1% clipped at either end);
- enhance blend 0.8: `enhance --mode blend --strength 0.8`, the enhance of earlier versions;
- enhance restore 0.8: `enhance`, the default: the model-guided global colour correction, 80% of the way;
- enhance restore 1: `enhance --strength 1`, the whole correction.

Figures per set: the mean CIEDE2000 to the truth, the mean colourfulness (Hasler and Suesstrunk 2003; the
truth's is the target), how many photos came out closer to the truth than their faded input, and the median
seconds per photo. Then "no harm": the default enhance on the original (unfaded) photos, CIEDE2000 to
themselves (a photo in good condition should come back nearly unchanged).

    python benchmarks/enhance.py                     # val/bsd100 and val/wallpapers
    python benchmarks/enhance.py --limit 20          # the first 20 photos of each set
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DEEPCOLOR_DATA", REPO.parent / "shared" / "data"))
SUFFIXES = (".png", ".jpg", ".jpeg")


def gray_world(rgb: np.ndarray) -> np.ndarray:
    """Each channel scaled in linear light so that the three means are equal (to their mean)."""
    from deepcolor.color.numpy import linear_to_srgb, srgb_to_linear

    linear = srgb_to_linear(rgb)
    means = linear.reshape(-1, 3).mean(axis=0)
    return linear_to_srgb(np.clip(linear * (means.mean() / np.maximum(means, 1e-6)), 0, 1))


def white_patch(rgb: np.ndarray) -> np.ndarray:
    """Each channel scaled so that its 99th percentile is white."""
    top = np.percentile(rgb.reshape(-1, 3), 99.0, axis=0)
    return np.clip(rgb / np.maximum(top, 1e-3), 0, 1)


def autocontrast(rgb: np.ndarray) -> np.ndarray:
    """Pillow's per-channel autocontrast, 1% clipped at either end."""
    from PIL import Image, ImageOps

    image = Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8))
    return np.asarray(ImageOps.autocontrast(image, cutoff=1), dtype=np.float32) / 255.0


def photos(folder: Path, limit: int | None) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)[:limit]


def main() -> None:
    from deepcolor.color import rgb_to_lab
    from deepcolor.data.degrade import random_fade
    from deepcolor.inference import Colorizer
    from deepcolor.inference.enhance import enhance_array
    from deepcolor.io import read_image
    from deepcolor.metrics import ciede2000, colorfulness

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="shipped name or a weights / checkpoint file")
    parser.add_argument("--data", type=Path, action="append", help="folder of photos (repeatable)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos of each set")
    parser.add_argument("--seed", type=int, default=0, help="fading seed (photo i gets seed + i)")
    args = parser.parse_args()
    sets = args.data or [DATA / "val" / "bsd100", DATA / "val" / "wallpapers"]
    colorizer = Colorizer(args.model, device="cpu")

    def enhance(mode: str, strength: float) -> Callable[[np.ndarray], np.ndarray]:
        return lambda rgb: enhance_array(colorizer, rgb.copy(), strength=strength, mode=mode)

    methods: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "faded (input)": lambda rgb: rgb,
        "gray-world": gray_world,
        "white patch": white_patch,
        "autocontrast (Pillow, per channel)": autocontrast,
        "enhance blend 0.8 (earlier enhance)": enhance("blend", 0.8),
        "enhance restore, strength 0.8 (default)": enhance("restore", 0.8),
        "enhance restore, strength 1": enhance("restore", 1.0),
    }
    classical = ["gray-world", "white patch", "autocontrast (Pillow, per channel)"]
    new = "enhance restore, strength 0.8 (default)"

    def as_lab(rgb: np.ndarray) -> torch.Tensor:
        rgb = np.round(np.clip(rgb, 0, 1) * 255.0) / 255.0  # what a file stores
        return rgb_to_lab(
            torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
        )

    def cf(rgb: np.ndarray) -> float:
        return colorfulness(torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]).item()

    print(f"model {colorizer.name}, render size {colorizer.render_size}, fading seed {args.seed}\n")
    for folder in sets:
        files = photos(folder, args.limit)
        if not files:
            raise SystemExit(f"no photos in {folder}")
        delta_e: dict[str, list[float]] = {name: [] for name in methods}
        colourful: dict[str, list[float]] = {name: [] for name in [*methods, "truth"]}
        seconds: dict[str, list[float]] = {name: [] for name in methods}
        harm: list[float] = []
        with torch.inference_mode():
            for index, path in enumerate(files):
                truth = read_image(path).rgb
                truth_lab = as_lab(truth)
                colourful["truth"].append(cf(truth))
                faded, _ = random_fade(truth, np.random.default_rng(args.seed + index))
                for name, method in methods.items():
                    start = time.perf_counter()
                    out = np.clip(method(faded), 0, 1).astype(np.float32)
                    seconds[name].append(time.perf_counter() - start)
                    delta_e[name].append(ciede2000(as_lab(out), truth_lab).mean().item())
                    colourful[name].append(cf(out))
                harm.append(ciede2000(as_lab(methods[new](truth)), truth_lab).mean().item())
        truth_cf = statistics.mean(colourful["truth"])
        print(f"### {folder.name}: {len(files)} photos\n")
        print(
            f"| method | CIEDE2000 to truth | colourfulness (truth {truth_cf:.1f}) | closer than faded "
            "| s per photo |"
        )
        print("| --- | ---: | ---: | ---: | ---: |")
        faded_de = delta_e["faded (input)"]
        for name in methods:
            closer = sum(a < b for a, b in zip(delta_e[name], faded_de, strict=True))
            print(
                f"| {name} | {statistics.mean(delta_e[name]):.2f} | {statistics.mean(colourful[name]):.1f} | "
                f"{closer} / {len(files)} | {statistics.median(seconds[name]):.2f} |"
            )
        best = min(classical, key=lambda name: statistics.mean(delta_e[name]))
        ratio = statistics.mean(delta_e[new]) / statistics.mean(delta_e[best])
        cf_ratio = statistics.mean(colourful[new]) / truth_cf
        print(
            f"\nnew enhance / best classical ({best}): CIEDE2000 x{ratio:.2f} (target <= 0.8); "
            f"colourfulness {cf_ratio:.0%} of the truth's (target 75-125%); closer than the faded input on "
            f"{sum(a < b for a, b in zip(delta_e[new], faded_de, strict=True))} of {len(files)} (target all)"
        )
        print(
            f"no harm: the default enhance on the unfaded photos, CIEDE2000 to themselves: mean "
            f"{statistics.mean(harm):.2f}, max {max(harm):.2f}\n"
        )


if __name__ == "__main__":
    main()
