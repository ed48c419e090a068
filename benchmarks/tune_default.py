"""Choose the shipped default's render size and chroma gain, and compare the remedies against sepia, on the
validation sets (never on anything a test asserts).

    python benchmarks/tune_default.py --model runs/lite0/last.pt

For each decoding of one checkpoint (the regression head; the regression head with a chroma gain; the
regression blended with the annealed mean of the classifier head; the annealed mean over the ab bins alone,
Zhang et al. 2016) and each render size, it colorizes
the first images of val/bsd100, all of val/wallpapers and the first images of val/tiny64-val through THE
inference path and prints PSNR, CIEDE2000 and colourfulness (ratio to the truth's) per set and pooled over the
three (each set weighted equally, so that no one set decides). Writes benchmarks/results/tune_default.md.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from deepcolor.color import lab_to_rgb, rgb_to_lab
from deepcolor.evaluate import _items
from deepcolor.inference import Colorizer
from deepcolor.metrics.colorization import ciede2000, colorfulness, psnr, quantize_8bit

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DEEPCOLOR_DATA", REPO.parent / "shared" / "data"))
SETS = {
    "bsd100": ("val/bsd100", 50),
    "wallpapers": ("val/wallpapers", 14),
    "tiny64-val": ("val/tiny64-val.tar", 100),
}


def load_sets() -> dict[str, list[np.ndarray]]:
    out = {}
    for name, (rel, limit) in SETS.items():
        images = []
        for item in _items(DATA / rel):
            rgb = item.load()
            lab_chroma = float(np.abs(rgb - rgb.mean(axis=2, keepdims=True)).mean())
            if lab_chroma > 0.01:  # grey images say nothing about colour
                images.append(rgb)
            if len(images) == limit:
                break
        out[name] = images
    return out


def score(colorizer: Colorizer, images: list[np.ndarray], render_size: int, gain: float) -> dict[str, float]:
    rows = []
    for rgb in images:
        truth = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
        lab = rgb_to_lab(truth)
        size = min(render_size, max(rgb.shape[:2]))
        ab = colorizer.predict_ab(lab[:, :1], render_size=size) * gain
        pred = quantize_8bit(lab_to_rgb(torch.cat([lab[:, :1], ab], dim=1)))
        rows.append(
            (
                psnr(pred, truth, max_db=100).item(),
                ciede2000(rgb_to_lab(pred), lab).mean().item(),
                colorfulness(pred).item(),
                colorfulness(truth).item(),
            )
        )
    a = np.array(rows)
    return {"psnr": a[:, 0].mean(), "de": a[:, 1].mean(), "ratio": a[:, 2].mean() / a[:, 3].mean()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--render-sizes", default="192,256,320")
    parser.add_argument("--gains", default="1.0,1.2,1.4")
    parser.add_argument("--mixes", default="0.25,0.5", help="shares of the annealed mean blended in")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--markdown", default=str(REPO / "benchmarks" / "results" / "tune_default.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sets = load_sets()
    colorizer = Colorizer(args.model, device="cpu", backend="torch")
    module = colorizer.predictor.module
    sizes = [int(s) for s in args.render_sizes.split(",")]
    gains = [float(g) for g in args.gains.split(",")]
    mixes = [float(m) for m in args.mixes.split(",")] if args.mixes else []
    configs = [("regression", g, 0.0) for g in gains]
    if hasattr(module, "decode"):
        configs += [("regression", 1.0, m) for m in mixes] + [("annealed_mean", 1.0, 0.0)]
    started = time.perf_counter()
    lines = [
        f"# Choosing the default's render size and chroma gain: {args.model}",
        "",
        "Sets: "
        + ", ".join(f"{n} ({len(v)} colour images)" for n, v in sets.items())
        + ". Pooled: the mean over the three sets. PSNR dB / CIEDE2000 / colourfulness ratio to the truth.",
        "",
        "| decode | mix | gain | render | " + " | ".join(sets) + " | pooled |",
        "| --- | ---: | ---: | ---: | " + " | ".join("---" for _ in sets) + " | --- |",
    ]
    print("\n".join(lines), flush=True)
    for decode, gain, mix in configs:
        if hasattr(module, "decode"):
            module.decode, module.annealed_mix = decode, mix
        for size in sizes:
            per = {name: score(colorizer, images, size, gain) for name, images in sets.items()}
            pooled = {k: float(np.mean([v[k] for v in per.values()])) for k in ("psnr", "de", "ratio")}
            cells = [f"{v['psnr']:.2f} / {v['de']:.2f} / {v['ratio']:.2f}" for v in per.values()]
            line = (
                f"| {decode} | {mix:.2f} | {gain:.2f} | {size} | "
                + " | ".join(cells)
                + f" | **{pooled['psnr']:.2f} / {pooled['de']:.2f} / {pooled['ratio']:.2f}** |"
            )
            lines.append(line)
            print(line, flush=True)
    lines += ["", f"{time.perf_counter() - started:.0f} s on {torch.get_num_threads()} thread(s)."]
    Path(args.markdown).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
