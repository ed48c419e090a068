"""User-guided colorization: the PSNR / CIEDE2000 sweep over 0, 1, 2, 5, 10, 20, 50 hints on BSD100, beside
Zhang et al.'s published SIGGRAPH 2017 curve, the truth as a reference photo, and the speed of a re-render.

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
DATA = Path(os.environ.get("DEEPCOLOR_DATA", REPO.parent / "shared" / "data")) / "val" / "bsd100"
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
    reference = evaluate(
        [args.model], DATA, limit=args.limit, reference="truth", progress=False, perceptual=False
    )
    ref = list(reference.summary.values())[1]
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
        f"Reference photo = the truth: {ref.psnr:.2f} dB, CIEDE2000 {ref.ciede2000:.2f}, colourfulness ratio "
        f"{ref.colorfulness_ratio:.2f} (automatic: {auto.psnr:.2f} dB, {auto.ciede2000:.2f}, "
        f"{auto.colorfulness_ratio:.2f}).",
        "",
        "| target | value | |",
        "| --- | ---: | --- |",
        f"| PSNR rises with every step of the sweep | {'yes' if rising else 'no'} | "
        f"{'pass' if rising else 'FAIL'} |",
        f"| 10 hints >= automatic + 3.5 dB | {gain10:+.2f} dB | {'pass' if gain10 >= 3.5 else 'FAIL'} |",
        f"| reference improves PSNR and CIEDE2000 | {ref.psnr - auto.psnr:+.2f} dB, "
        f"{ref.ciede2000 - auto.ciede2000:+.2f} | "
        f"{'pass' if ref.psnr > auto.psnr and ref.ciede2000 < auto.ciede2000 else 'FAIL'} |",
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
