"""User-guided colorization: the PSNR / CIEDE2000 sweep over 0, 1, 2, 5, 10, 20, 50 hints on BSD100, beside
Zhang et al.'s published SIGGRAPH 2017 curve, reference photos (the truth; the truth mirrored and cropped to
80%, the same colours seen differently; an unrelated photo of the same set) on BSD100 and the wallpapers, and
the speed of a re-render.

    python benchmarks/hints.py                  # the default model, all of BSD100
    python benchmarks/hints.py --limit 20 --model runs/lite0/last.pt

Hints are sampled from the truth by `deepcolor evaluate --hints N` (fixed seed, Gaussian placement centred on
the image with sigma a quarter of each side, 7 x 7 patches carrying their mean colour). The published curve
is on 1,000 ImageNet-val images at 256 x 256 with 6 x 6 patches: another data set and size, shown for the
shape of the curve, not as a like-for-like comparison. Writes benchmarks/results/hints.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from deepcolor.evaluate import evaluate

REPO = Path(__file__).resolve().parent.parent
VAL = Path(os.environ.get("DEEPCOLOR_DATA", REPO.parent / "shared" / "data")) / "val"
DATA = VAL / "bsd100"
REFERENCE_SETS = {"BSD100": VAL / "bsd100", "wallpapers": VAL / "wallpapers"}
REFERENCE_KINDS = ("automatic", "truth", "truth mirrored, 80% crop", "unrelated photo")
UNRELATED_OFFSET = 7  # the unrelated reference of image i is image i + 7 of the same set (sorted by name)
COUNTS = (0, 1, 2, 5, 10, 20, 50)
# Zhang et al. 2017, Fig. / Table: PSNR (dB) with 0, 1, 2, 5, 10, 20, 50 random hints (ImageNet val, 256 px)
SIGGRAPH17 = {0: 24.43, 1: 25.37, 2: 26.20, 5: 27.39, 10: 28.42, 20: 29.34, 50: 30.42}


def speed(model: str, repeats: int = 15) -> dict[str, float]:
    """Median ms of a re-render at the render size after a new hint, and of suggest_colors, on a 0.4 MP
    photo (the work the web page repeats for each click)."""
    from skimage import data

    from deepcolor.inference import Colorizer, lightness
    from deepcolor.inference.guidance import guidance_conditions, suggest_at

    rgb = data.astronaut().astype(np.float32) / 255.0
    colorizer = Colorizer(model, device="cpu", backend="torch")
    l = lightness(rgb)
    height, width = rgb.shape[:2]
    render, suggest = [], []
    for i in range(repeats + 2):
        hints = [(40 + 10 * i, 300, "#d05020"), (250, 120, "#204080")]
        start = time.perf_counter()
        conditions = guidance_conditions(colorizer, height, width, hints=hints)
        colorizer.predict_low(l, conditions=conditions)
        render.append(time.perf_counter() - start)
        start = time.perf_counter()
        suggest_at(colorizer, l, 100 + i, 200, k=5, conditions=conditions)
        suggest.append(time.perf_counter() - start)
    return {
        "render_ms": statistics.median(render[2:]) * 1000,
        "suggest_ms": statistics.median(suggest[2:]) * 1000,
        "render_size": colorizer.render_size,
    }


def _reference_for(kind: str, index: int, truths: list[np.ndarray]) -> np.ndarray | None:
    rgb = truths[index]
    if kind == "automatic":
        return None
    if kind == "truth":
        return rgb
    if kind == "unrelated photo":
        return truths[(index + UNRELATED_OFFSET) % len(truths)]
    height, width = rgb.shape[:2]
    crop_h, crop_w = int(height * 0.8), int(width * 0.8)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return np.ascontiguousarray(rgb[:, ::-1][top : top + crop_h, left : left + crop_w])


def reference_rows(model: str, limit: int | None) -> dict[str, dict[str, tuple[float, float, float]]]:
    """Per set and kind of reference: mean PSNR, CIEDE2000 and colourfulness ratio of `deepcolor.colorize`
    on the grey photos (L* only), through the same path as the command line (`process_image`)."""
    from PIL import Image

    from deepcolor.color import rgb_to_lab
    from deepcolor.color.numpy import lab_to_rgb as lab_to_rgb_np
    from deepcolor.color.numpy import rgb_to_lab as rgb_to_lab_np
    from deepcolor.inference import Colorizer
    from deepcolor.inference.images import process_image
    from deepcolor.io import image_from_array
    from deepcolor.metrics.colorization import ciede2000, colorfulness, psnr, quantize_8bit

    colorizer = Colorizer(model)
    out: dict[str, dict[str, tuple[float, float, float]]] = {}
    for name, folder in REFERENCE_SETS.items():
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))[:limit]
        truths = [np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) / 255.0 for f in files]
        scores: dict[str, list[tuple[float, float, float]]] = {kind: [] for kind in REFERENCE_KINDS}
        for index, truth in enumerate(truths):
            lab = rgb_to_lab_np(truth.astype(np.float64))
            lab[..., 1:] = 0.0
            grey = lab_to_rgb_np(lab).astype(np.float32)
            target = quantize_8bit(torch.from_numpy(truth).permute(2, 0, 1)[None])
            for kind in REFERENCE_KINDS:
                reference = _reference_for(kind, index, truths)
                rgb = process_image(image_from_array(grey), colorizer, reference=reference).rgb
                pred = quantize_8bit(torch.from_numpy(rgb).permute(2, 0, 1)[None])
                scores[kind].append(
                    (
                        float(psnr(pred, target)),
                        float(ciede2000(rgb_to_lab(pred), rgb_to_lab(target)).mean()),
                        float(colorfulness(pred)),
                        float(colorfulness(target)),
                    )
                )
        out[name] = {}
        for kind, values in scores.items():  # the colourfulness ratio as evaluate's: mean over mean
            mean_psnr, mean_ciede, mean_pred, mean_truth = np.mean(values, axis=0).tolist()
            out[name][kind] = (mean_psnr, mean_ciede, mean_pred / max(mean_truth, 1e-6))
        print(name, {k: [round(x, 2) for x in v] for k, v in out[name].items()}, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the sweep")
    parser.add_argument("--markdown", default=str(REPO / "benchmarks" / "results" / "hints.md"))
    args = parser.parse_args()
    cores = torch.get_num_threads()  # torch's default: the cores this process may use
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    rows = {}
    for count in COUNTS:
        result = evaluate([args.model], DATA, limit=args.limit, hints=count, progress=False, perceptual=False)
        rows[count] = list(result.summary.values())[1]
        print(
            f"{count:>3} hints: {rows[count].psnr:.2f} dB, CIEDE2000 {rows[count].ciede2000:.2f}", flush=True
        )
    references = reference_rows(args.model, args.limit)
    timings = {}
    for threads in sorted({1, cores}):  # the page's work on one core and on all of this CPU's
        torch.set_num_threads(threads)
        timings[threads] = speed(args.model)
    torch.set_num_threads(args.threads)
    timing = timings[cores]
    auto = rows[0]
    rising = all(rows[b].psnr > rows[a].psnr for a, b in zip(COUNTS, COUNTS[1:], strict=False))
    gain10 = rows[10].psnr - auto.psnr
    lines = [
        "# User-guided colorization: hints sweep and reference photo",
        "",
        f"Model `{args.model}` on BSD100 ({auto.images} images, full resolution); {platform.machine()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
        f"{time.perf_counter() - started:.0f} s.",
        "Command: `python benchmarks/hints.py" + (f" --limit {args.limit}" if args.limit else "") + "`",
        "",
        "| hints | PSNR dB | CIEDE2000 | colourfulness ratio | SIGGRAPH 2017 PSNR (ImageNet, 256 px) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for count in COUNTS:
        s = rows[count]
        lines.append(
            f"| {count} | {s.psnr:.2f} | {s.ciede2000:.2f} | {s.colorfulness_ratio:.2f} | "
            f"{SIGGRAPH17[count]:.2f} |"
        )
    lines += [
        "",
        "Reference photos (exemplar hints, `deepcolor/hints/exemplar.py`, and the global histogram), grey "
        "photos through `process_image` as the command line runs them; PSNR dB / CIEDE2000 / colourfulness "
        "ratio:",
        "",
        "| reference | " + " | ".join(REFERENCE_SETS) + " |",
        "| --- | " + " | ".join("---" for _ in REFERENCE_SETS) + " |",
    ]
    for kind in REFERENCE_KINDS:
        values = [references[name][kind] for name in REFERENCE_SETS]
        cells = [f"{v[0]:.2f} / {v[1]:.2f} / {v[2]:.2f}" for v in values]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    gains = {
        (name, kind): references[name][kind][0] - references[name]["automatic"][0]
        for name in REFERENCE_SETS
        for kind in REFERENCE_KINDS[1:]
    }
    lines += [
        "",
        "| target | value | |",
        "| --- | ---: | --- |",
        f"| PSNR rises with every step of the sweep | {'yes' if rising else 'no'} | "
        f"{'pass' if rising else 'FAIL'} |",
        f"| 10 hints >= automatic + 3.5 dB | {gain10:+.2f} dB | {'pass' if gain10 >= 3.5 else 'FAIL'} |",
        *(
            f"| {kind} as reference >= automatic + 1.0 dB ({name}) | {gains[name, kind]:+.2f} dB | "
            f"{'pass' if gains[name, kind] >= 1.0 else 'FAIL'} |"
            for name in REFERENCE_SETS
            for kind in REFERENCE_KINDS[1:3]
        ),
        *(
            f"| unrelated photo as reference >= automatic - 0.3 dB ({name}) | "
            f"{gains[name, 'unrelated photo']:+.2f} dB | "
            f"{'pass' if gains[name, 'unrelated photo'] >= -0.3 else 'FAIL'} |"
            for name in REFERENCE_SETS
        ),
        f"| re-render after a new hint (render size {timing['render_size']}, {cores} threads) <= 50 ms | "
        f"{timing['render_ms']:.1f} ms | {'pass' if timing['render_ms'] <= 50 else 'FAIL'} |",
        f"| suggest_colors ({cores} threads) <= 50 ms | {timing['suggest_ms']:.1f} ms | "
        f"{'pass' if timing['suggest_ms'] <= 50 else 'FAIL'} |",
        "",
        "Timings: medians of 15 runs on scikit-image's astronaut (512 x 512), the network at the render size "
        "(guided upsampling to full resolution not included: the page previews at screen size); "
        + ", ".join(
            f"{t} thread(s): re-render {v['render_ms']:.1f} ms, suggest {v['suggest_ms']:.1f} ms"
            for t, v in timings.items()
        )
        + " (`deepcolor serve` gives each worker one thread).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.markdown).write_text(text)


if __name__ == "__main__":
    main()
