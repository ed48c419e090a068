"""Colour -> grey: contrast kept (E-score, Lu, Xu and Jia 2014) and speed, every method side by side.

Methods: deepcolor's `lcp` (the default), `cpd` (our Lu/Xu/Jia 2012), `lightness`, `luma601`, `luma709`,
`average`, and OpenCV's `cv2.decolor` (its grey output; opencv-python-headless is only a benchmark
dependency).

Data sets:

- bsd100: ../shared/data/val/bsd100, 100 photos of 480 x 320.
- tiny64-val: ../shared/data/val/tiny64-val.tar, Tiny-ImageNet validation, 64 x 64 (all 2,000 by default;
  `--tiny-limit N` takes the first N members of the tar, in tar order).
- isoluminant: 24 synthetic 128 x 128 images (`deepcolor.decolor.synthetic.isoluminant_set(24, 128, seed=0)`):
  patches, text and hue gradients whose colours all have one L*.

Scores: `deepcolor.metrics.decolorization` (protocol in its docstring: longer side <= 256, 4-neighbour + one
random pair per pixel, CIE76 in CIELab, grey L*, tau = 1..15, mean over tau then over images). Every method
gets the 8-bit grey that it would write to a file.

Speed: each method runs on the decoded uint8 arrays (no file I/O), `--repeats` times per image, one method
over the whole set after the other; an image's time is the median of its runs; seconds per megapixel = sum
of the image times / sum of the megapixels. The "large" rows do the same (median of at least 5 runs) on one
12-megapixel mosaic of BSD100 photos (4000 x 3000), and the 50-megapixel rows run the default method and
`lightness` on an 8660 x 5774 mosaic, each in a child process, with peak memory.

    python benchmarks/decolorize.py            # everything; writes benchmarks/results/decolorize.md
    python benchmarks/decolorize.py --tiny-limit 300 --repeats 1 --no-large --out -   # a quick look
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DEEPCOLOR_DATA", REPO.parent / "shared" / "data"))
OURS = ("lcp", "cpd", "lightness", "luma601", "luma709", "average")


def _method_table(results: list[dict], methods: list[str], columns: list[tuple[str, str, str]]) -> list[str]:
    """Markdown rows: one per method, for each data set the given (title, result key, format) columns."""
    head = " | ".join(f"{r['name']} {title}" for r in results for title, _, _ in columns)
    rows = [f"| method | {head} |", "|" + "---|" * (1 + len(columns) * len(results))]
    for m in methods:
        cells = [format(r[key][m], fmt) for r in results for _, key, fmt in columns]
        rows.append(f"| {m} | " + " | ".join(cells) + " |")
    return rows

def cv2_decolor(rgb: np.ndarray) -> np.ndarray:
    import cv2

    grey, _ = cv2.decolor(np.ascontiguousarray(rgb[:, :, ::-1]))
    return grey


def method_table() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    from deepcolor.decolor import METHODS

    table: dict[str, Callable[[np.ndarray], np.ndarray]] = {name: METHODS[name] for name in OURS}
    table["cv2.decolor"] = cv2_decolor
    return table


def to_u8(grey: np.ndarray) -> np.ndarray:
    if grey.dtype == np.uint8:
        return grey
    return np.round(np.clip(grey, 0.0, 1.0) * 255.0).astype(np.uint8)


# ------------------------------------------------------------------------------------------------ data


def bsd100() -> Iterator[tuple[str, np.ndarray]]:
    from PIL import Image

    folder = DATA / "val" / "bsd100"
    for path in sorted(folder.glob("*.png")):
        with Image.open(path) as im:
            yield path.stem, np.asarray(im.convert("RGB"))


def tiny64(limit: int | None) -> Iterator[tuple[str, np.ndarray]]:
    from PIL import Image

    with tarfile.open(DATA / "val" / "tiny64-val.tar") as tar:
        n = 0
        for member in tar:
            if not member.isfile():
                continue
            if limit is not None and n >= limit:
                break
            with Image.open(io.BytesIO(tar.extractfile(member).read())) as im:
                yield member.name, np.asarray(im.convert("RGB"))
            n += 1


def isoluminant() -> Iterator[tuple[str, np.ndarray]]:
    from deepcolor.decolor.synthetic import isoluminant_set

    yield from isoluminant_set(24, 128, seed=0)


def mosaic(width: int, height: int) -> np.ndarray:
    """A (height, width, 3) uint8 photo mosaic of BSD100 images (real photo content at any size)."""
    photos = [rgb for _, rgb in bsd100()]
    out = np.empty((height, width, 3), dtype=np.uint8)
    i = 0
    for top in range(0, height, 320):
        for left in range(0, width, 480):
            p = photos[i % len(photos)]
            p = p if p.shape[0] == 320 else p.transpose(1, 0, 2)
            h, w = min(320, height - top), min(480, width - left)
            out[top:top + h, left:left + w] = p[:h, :w]
            i += 1
    return out


# -------------------------------------------------------------------------------------------- measuring


def timed(fn: Callable[[np.ndarray], np.ndarray], rgb: np.ndarray, repeats: int) -> tuple[np.ndarray, float]:
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(rgb)
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def run_dataset(name: str, images: Iterator[tuple[str, np.ndarray]], methods: dict, repeats: int) -> dict:
    """Time each method over the whole set (one method after the other, so that no library's idle threads
    spin while another's code is timed), then score the 8-bit greys."""
    from deepcolor.metrics.decolorization import contrast_pairs

    start = time.perf_counter()
    rgbs = [rgb for _, rgb in images]
    megapixels = sum(rgb.shape[0] * rgb.shape[1] for rgb in rgbs) / 1e6
    greys: dict[str, list[np.ndarray]] = {}
    seconds = {}
    for m, fn in methods.items():
        outs, total = [], 0.0
        for rgb in rgbs:
            grey, t = timed(fn, rgb, repeats)
            outs.append(to_u8(grey))
            total += t
        greys[m], seconds[m] = outs, total
    scores = {m: [] for m in methods}
    ccpr = {m: [] for m in methods}
    ccfr = {m: [] for m in methods}
    for i, rgb in enumerate(rgbs):
        pairs = contrast_pairs(rgb)
        for m in methods:
            s = pairs.score(greys[m][i])
            scores[m].append(s.mean_escore)
            ccpr[m].append(float(s.ccpr.mean()))
            ccfr[m].append(float(s.ccfr.mean()))
    return {
        "name": name,
        "count": len(rgbs),
        "megapixels": megapixels,
        "wall": time.perf_counter() - start,
        "escore": {m: float(np.mean(v)) for m, v in scores.items()},
        "ccpr": {m: float(np.mean(v)) for m, v in ccpr.items()},
        "ccfr": {m: float(np.mean(v)) for m, v in ccfr.items()},
        "s_per_mp": {m: seconds[m] / megapixels for m in methods},
    }


def run_large(methods: dict, repeats: int) -> dict:
    rgb = mosaic(4000, 3000)
    mp = rgb.shape[0] * rgb.shape[1] / 1e6
    out = {}
    for m, fn in methods.items():
        _, t = timed(fn, rgb, repeats)
        out[m] = t / mp
    return out


_CHILD = """
import resource, sys, time
import numpy as np
sys.path.insert(0, {bench!r})
from decolorize import mosaic
from deepcolor.decolor import METHODS
rgb = mosaic(8660, 5774)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
grey = METHODS[{method!r}](rgb)
t = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(t, base / 2**20, peak / 2**20, grey.shape[0], grey.shape[1])
"""


def run_50mp(method: str) -> tuple[float, float, float]:
    """(seconds, peak RSS GiB before the call (the input), peak RSS GiB after) for a 50 MP mosaic."""
    code = _CHILD.format(bench=str(Path(__file__).resolve().parent), method=method)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    t, base, peak, *_ = done.stdout.split()
    return float(t), float(base), float(peak)


# ---------------------------------------------------------------------------------------------- report


def report(results: list[dict], large: dict | None, big: dict | None, methods: list[str], args) -> str:
    lines = ["# Decolorization: contrast kept (E-score) and speed", ""]
    lines.append(f"`python benchmarks/decolorize.py {' '.join(sys.argv[1:])}`".replace(" `", "`"))
    lines.append("")
    lines.append(f"Machine: {os.cpu_count()} CPU cores (a shared machine: timings move by about 10% between "
                 f"runs), repeats per image: {args.repeats} (median).")
    lines.append("")
    lines += _method_table(results, methods, [("E-score", "escore", ".4f"), ("s/MP", "s_per_mp", ".3f")])
    lines.append("")
    lines.append("CCPR / CCFR (means over tau, then images):")
    lines.append("")
    lines += _method_table(results, methods, [("CCPR", "ccpr", ".4f"), ("CCFR", "ccfr", ".4f")])
    lines.append("")
    for r in results:
        lines.append(f"- {r['name']}: {r['count']} images, {r['megapixels']:.2f} MP, {r['wall']:.0f} s for "
                     "all methods, scoring included.")
    lines.append("")
    lines.append("Goals (default method `lcp`):")
    lines.append("")
    for r in results:
        peers = [m for m in ("luma601", "lightness", "cv2.decolor") if m in r["escore"]]
        if "lcp" not in r["escore"] or "cv2.decolor" not in peers:
            lines.append(f"- {r['name']}: (run lcp and cv2.decolor, with --methods, to see the goals)")
            continue
        best = max(peers, key=lambda m: r["escore"][m])
        margin = r["escore"]["lcp"] - r["escore"][best]
        speedup = r["s_per_mp"]["cv2.decolor"] / r["s_per_mp"]["lcp"]
        mp_per_image = r["megapixels"] / r["count"]
        per_image = {m: 1000.0 * r["s_per_mp"][m] * mp_per_image for m in ("lcp", "cv2.decolor")}
        lines.append(f"- {r['name']}: lcp {r['escore']['lcp']:.4f} vs the best of luma601 / lightness / "
                     f"cv2.decolor ({best}, {r['escore'][best]:.4f}): {margin:+.4f} (goal >= +0.02 on bsd100 "
                     f"and tiny64-val); {speedup:.1f}x the speed of cv2.decolor, "
                     f"{r['s_per_mp']['lcp']:.3f} s/MP (goal >= 10x, <= 0.1 s/MP); "
                     f"{per_image['lcp']:.1f} ms per image (cv2.decolor {per_image['cv2.decolor']:.1f} ms)")
    if large:
        lines.append("")
        lines.append("12-megapixel mosaic of BSD100 photos (4000 x 3000), seconds per megapixel:")
        lines.append("")
        lines.append("| " + " | ".join(large) + " |")
        lines.append("|" + "---|" * len(large))
        lines.append("| " + " | ".join(f"{v:.3f}" for v in large.values()) + " |")
        lines.append("")
        ratio = large["cv2.decolor"] / large["lcp"]
        lines.append(f"- lcp is {ratio:.1f}x faster than cv2.decolor per megapixel.")
    if big:
        lines.append("")
        lines.append("50-megapixel mosaic (8660 x 5774), each method in a fresh process:")
        lines.append("")
        lines.append("| method | seconds | s/MP | peak RSS, input loaded (GiB) | peak RSS after (GiB) |")
        lines.append("|---|---|---|---|---|")
        for m, (t, base, peak) in big.items():
            lines.append(f"| {m} | {t:.2f} | {t / 50.0:.3f} | {base:.2f} | {peak:.2f} |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny-limit", type=int, default=None, help="only the first N tiny64-val images")
    parser.add_argument("--bsd-limit", type=int, default=None, help="only the first N BSD100 photos")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per image (the median counts)")
    parser.add_argument("--no-large", action="store_true", help="skip the 12 and 50 megapixel runs")
    parser.add_argument("--methods", default=None, help="comma-separated subset (default: all)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "decolorize.md"),
                        help="markdown file for the table ('-': print only)")
    args = parser.parse_args()
    for path in (DATA / "val" / "bsd100", DATA / "val" / "tiny64-val.tar"):
        if not path.exists():
            raise SystemExit(f"missing data: {path} (set DEEPCOLOR_DATA)")
    methods = method_table()
    if args.methods:
        methods = {m: methods[m] for m in args.methods.split(",")}
    for fn in methods.values():  # warm up imports and caches
        fn(np.zeros((8, 8, 3), np.uint8) + np.arange(8, dtype=np.uint8)[:, None, None] * 30)

    t0 = time.perf_counter()
    bsd = bsd100()
    if args.bsd_limit:
        bsd = (x for i, x in enumerate(bsd100()) if i < args.bsd_limit)
    results = []
    sets = (("bsd100", bsd), ("tiny64-val", tiny64(args.tiny_limit)), ("isoluminant", isoluminant()))
    for name, images in sets:
        results.append(run_dataset(name, images, methods, args.repeats))
        print(f"{name}: done in {results[-1]['wall']:.0f} s", file=sys.stderr, flush=True)
    large = big = None
    if not args.no_large:
        large = run_large(methods, max(5, args.repeats))  # a shared machine: the median of 5 runs
        big = {m: run_50mp(m) for m in ("lcp", "lightness")}
    text = report(results, large, big, list(methods), args)
    text += f"\nTotal benchmark time: {time.perf_counter() - t0:.0f} s; peak RSS of this process: " \
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB.\n"
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
