"""`deepcolor enhance` on artificially faded photos: colourfulness and CIEDE2000 to the truth, before/after.

The fading (an old colour print: chroma gone, a yellow-grey cast, flat contrast), applied in CIELab to each
BSD100 photo and then rounded to 8 bits:

    L' = 0.85 L + 7.5          (blacks lifted, whites dulled)
    a' = 0.35 a + 1.5          (65% of the chroma gone, a slight warm cast)
    b' = 0.35 b + 6.0          (... and a yellow cast)

Each faded photo is then processed by the methods side by side, and compared with the original photo (the
truth): colourfulness (Hasler and Suesstrunk 2003, the mean over photos; the truth's is the target) and mean
CIEDE2000 to the truth (lower is better). Peers:

- faded: the input itself;
- saturation x 2.86: the faded Lab chroma scaled by 1 / 0.35, a global boost that knows the fading factor
  (and also amplifies the cast);
- colorize (grey -> colour): the colorizer's ab alone, the photo's own colours discarded;
- enhance, strength s: `deepcolor enhance` (the colorizer's ab blended in where the photo is dull);
- enhance + CLAHE: the same with local contrast on L* (which changes L*, so CIEDE2000 rises).

    python benchmarks/enhance.py --model /work/runs/autoencoder-v1/best.safetensors
    python benchmarks/enhance.py --limit 20        # the first 20 photos
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
FADE_L = (0.85, 7.5)
FADE_A = (0.35, 1.5)
FADE_B = (0.35, 6.0)


def fade(rgb: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) sRGB -> the faded photo, (1, 3, H, W) sRGB rounded to 8 bits (see the module notes)."""
    from deepcolor.color import lab_to_rgb, rgb_to_lab
    from deepcolor.metrics import quantize_8bit

    lab = rgb_to_lab(rgb)
    scale = torch.tensor([FADE_L[0], FADE_A[0], FADE_B[0]]).view(1, 3, 1, 1)
    offset = torch.tensor([FADE_L[1], FADE_A[1], FADE_B[1]]).view(1, 3, 1, 1)
    return quantize_8bit(lab_to_rgb(lab * scale + offset))


def main() -> None:
    from deepcolor.color import lab_to_rgb, rgb_to_lab
    from deepcolor.inference import Colorizer
    from deepcolor.inference.enhance import enhance_array
    from deepcolor.io import read_image
    from deepcolor.metrics import ciede2000, colorfulness, quantize_8bit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="shipped name or a weights / checkpoint file")
    parser.add_argument("--data", type=Path, default=None, help="folder of photos [default: bsd100]")
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    parser.add_argument("--render-size", type=int, default=None)
    parser.add_argument("--strengths", default="0.5,0.8,1.0")
    args = parser.parse_args()
    data = (
        args.data
        or Path(os.environ.get("DEEPCOLOR_DATA", REPO.parent / "shared" / "data")) / "val" / "bsd100"
    )
    files = sorted(p for p in data.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))[: args.limit]
    if not files:
        raise SystemExit(f"no photos in {data}")
    colorizer = Colorizer(args.model, device="cpu")
    strengths = [float(s) for s in args.strengths.split(",")]

    def as_array(rgb: torch.Tensor) -> np.ndarray:
        return np.ascontiguousarray(rgb[0].permute(1, 2, 0).numpy())

    def saturate(faded: torch.Tensor) -> torch.Tensor:
        lab = rgb_to_lab(faded)
        lab[:, 1:] /= FADE_A[0]
        return lab_to_rgb(lab)

    def colorize_only(faded: torch.Tensor) -> torch.Tensor:
        out = colorizer.colorize_array(as_array(faded), args.render_size)
        return torch.from_numpy(out).permute(2, 0, 1)[None]

    methods = {"faded (input)": lambda faded: faded, "saturation x 2.86": saturate}
    methods["colorize (grey -> colour)"] = colorize_only
    for s in strengths:
        methods[f"enhance, strength {s:g}"] = lambda faded, s=s: torch.from_numpy(
            enhance_array(colorizer, as_array(faded), strength=s, render_size=args.render_size)
        ).permute(2, 0, 1)[None]
    methods["enhance, strength 0.8, + CLAHE"] = lambda faded: torch.from_numpy(
        enhance_array(colorizer, as_array(faded), strength=0.8, clahe=True, render_size=args.render_size)
    ).permute(2, 0, 1)[None]

    colourfulness: dict[str, list[float]] = {name: [] for name in [*methods, "truth"]}
    delta_e: dict[str, list[float]] = {name: [] for name in methods}
    seconds: dict[str, list[float]] = {name: [] for name in methods}
    with torch.inference_mode():
        for path in files:
            truth = torch.from_numpy(read_image(path).rgb).permute(2, 0, 1)[None].contiguous()
            truth_lab = rgb_to_lab(truth)
            colourfulness["truth"].append(colorfulness(truth).item())
            faded = fade(truth)
            for name, method in methods.items():
                start = time.perf_counter()
                out = quantize_8bit(method(faded.clone()).clamp(0, 1))
                seconds[name].append(time.perf_counter() - start)
                colourfulness[name].append(colorfulness(out).item())
                delta_e[name].append(ciede2000(rgb_to_lab(out), truth_lab).mean().item())

    print(
        f"model {colorizer.name}, render size {args.render_size or colorizer.render_size}, "
        f"{len(files)} photos from {data}\n"
    )
    print(
        f"Fading (CIELab, then 8 bits): L' = {FADE_L[0]} L + {FADE_L[1]}, a' = {FADE_A[0]} a + {FADE_A[1]}, "
        f"b' = {FADE_B[0]} b + {FADE_B[1]}.\n"
    )
    print(
        "| method | colourfulness (truth "
        f"{statistics.mean(colourfulness['truth']):.1f}) | "
        "CIEDE2000 to truth | ms per photo |"
    )
    print("| --- | ---: | ---: | ---: |")
    for name in methods:
        print(
            f"| {name} | {statistics.mean(colourfulness[name]):.1f} | {statistics.mean(delta_e[name]):.2f} | "
            f"{statistics.median(seconds[name]) * 1e3:.0f} |"
        )


if __name__ == "__main__":
    main()
