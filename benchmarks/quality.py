"""Colorization quality on BSD100: every shipped model (and any --model given) beside the gray baseline.

    python benchmarks/quality.py                       # the shipped models + gray
    python benchmarks/quality.py --model runs/ae/best.pt --limit 20

Runs `deepcolor.evaluate` (the one inference path, metrics on the 8-bit sRGB output) on
$DEEPCOLOR_DATA/val/bsd100 (default: <repo>/../shared/data/val/bsd100), prints the table and the goals of the
quality issue for each model, and writes the same as Markdown to benchmarks/results/quality.md:

- floor: PSNR above gray's, mean CIEDE2000 below gray's, colourfulness at least 60% of the truth's;
- aim: PSNR >= 24.0 dB with colourfulness at least 80% of the truth's.

The CSV files and the comparison sheet go to out/quality/ (ignored by git: the sheet shows BSD photos, which
the project may not ship).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from deepcolor.evaluate import GRAY, EvaluationError, EvaluationResult, ModelSummary, evaluate, format_table

REPO = Path(__file__).resolve().parent.parent
DATA_ROOT = Path(os.environ.get("DEEPCOLOR_DATA", REPO.parent / "shared" / "data"))
DEFAULT_DATA = DATA_ROOT / "val" / "bsd100"
DEFAULT_MARKDOWN = REPO / "benchmarks" / "results" / "quality.md"
DEFAULT_OUT = REPO / "out" / "quality"

FLOOR_RATIO = 0.6
AIM_RATIO = 0.8
AIM_PSNR = 24.0


@dataclass
class Check:
    goal: str
    what: str
    value: str
    passed: bool


def checks_for(model: ModelSummary, gray: ModelSummary) -> list[Check]:
    """The floor and aim checks of the quality issue for one model."""
    ratio = model.colorfulness_ratio
    return [
        Check("floor", "PSNR above gray", f"{model.psnr:.2f} vs {gray.psnr:.2f} dB", model.psnr > gray.psnr),
        Check("floor", "CIEDE2000 below gray", f"{model.ciede2000:.2f} vs {gray.ciede2000:.2f}",
              model.ciede2000 < gray.ciede2000),
        Check("floor", f"colourfulness >= {FLOOR_RATIO:.0%} of truth", f"{ratio:.0%}", ratio >= FLOOR_RATIO),
        Check("aim", f"PSNR >= {AIM_PSNR} dB", f"{model.psnr:.2f} dB", model.psnr >= AIM_PSNR),
        Check("aim", f"colourfulness >= {AIM_RATIO:.0%} of truth", f"{ratio:.0%}", ratio >= AIM_RATIO),
    ]


def shipped() -> tuple[list[str], dict[str, str]]:
    """Names of the shipped weights and their aliases ({} / [] when the inference package has none)."""
    try:
        from deepcolor.inference.weights import read_index, shipped_models
    except ImportError:
        return [], {}
    return shipped_models(), read_index()


def markdown_table(result: EvaluationResult) -> list[str]:
    lines = [
        "| model | images | PSNR dB | SSIM | CIEDE2000 | AuC | colourf. | truth | gap | ratio | s/img |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in result.summary.values():
        lines.append(
            f"| {s.model} | {s.images} | {s.psnr:.2f} | {s.ssim:.4f} | {s.ciede2000:.2f} | {s.auc:.4f} | "
            f"{s.colorfulness_pred:.1f} | {s.colorfulness_true:.1f} | {s.colorfulness_gap:+.1f} | "
            f"{s.colorfulness_ratio:.2f} | {s.seconds:.3f} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], help="extra model (checkpoint, .safetensors)")
    parser.add_argument("--no-shipped", action="store_true", help="skip the shipped models")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder or tar of truth images")
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument("--render-size", type=int, default=None, help="size the network sees")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda ...")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (on a shared, busy machine 1 can be several times faster)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for CSV files and the sheet")
    parser.add_argument("--markdown", type=Path, default=DEFAULT_MARKDOWN, help="where the report goes")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    if not args.data.exists():
        print(f"quality: {args.data}: not found (set DEEPCOLOR_DATA to the shared data folder)",
              file=sys.stderr)
        return 2
    names, aliases = ([], {}) if args.no_shipped else shipped()
    models = [*names, *args.model]
    if not models:
        print("quality: no shipped weights yet and no --model given: the gray baseline only", file=sys.stderr)

    start = time.perf_counter()
    try:
        result = evaluate(models, args.data, limit=args.limit, render_size=args.render_size,
                          output_dir=args.out, device=args.device)
    except EvaluationError as error:
        print(f"quality: {error}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start

    machine = (f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} with "
               f"{torch.get_num_threads()} threads, device {args.device}")
    default = aliases.get("default")
    report = [
        "# Colorization quality",
        "",
        f"Data: `{args.data.name}` ({max(s.images for s in result.summary.values())} images"
        + (f", {len(result.failed)} unreadable" if result.failed else "") + f"); {machine}; "
        f"{seconds:.0f} s in all; {datetime.date.today().isoformat()}.",
        "Every metric is computed on the 8-bit sRGB output (truth L* + predicted a*b*, clipped to the",
        "gamut): PSNR and SSIM on sRGB, CIEDE2000 per pixel, AuC of the a*b* error over thresholds 0-150",
        "(Zhang et al.), colourfulness of Hasler and Suesstrunk (ratio = mean prediction / mean truth).",
        "`gray` is the baseline ab = 0."
        + (f" Default model: `{default}`." if default else ""),
        "",
        f"Command: `{' '.join(['python benchmarks/quality.py', *sys.argv[1:]])}`",
        "",
        *markdown_table(result),
        "",
    ]
    text_checks = []
    gray = result.summary[GRAY]
    for label, summary in result.summary.items():
        if label == GRAY:
            continue
        checks = checks_for(summary, gray)
        report += [f"## {label}", "", "| goal | check | value | |", "| --- | --- | ---: | --- |"]
        for c in checks:
            mark = "pass" if c.passed else "FAIL"
            report.append(f"| {c.goal} | {c.what} | {c.value} | {mark} |")
            text_checks.append(f"{label:<24} {c.goal:<5} {c.what:<34} {c.value:>18}  {mark}")
        floor = all(c.passed for c in checks if c.goal == "floor")
        aim = all(c.passed for c in checks if c.goal == "aim")
        report += ["", f"Floor {'met' if floor else 'NOT met'}; aim {'met' if aim else 'not met'}.", ""]
    if not text_checks:
        report += ["No model was evaluated beside the gray baseline (no shipped weights yet).", ""]

    print(format_table(result))
    if text_checks:
        print()
        print("\n".join(text_checks))
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.markdown.with_name(f".{args.markdown.name}.tmp")
    tmp.write_text("\n".join(report))
    tmp.replace(args.markdown)
    print(f"\nwrote {args.markdown} and {args.out}/ ({seconds:.0f} s)")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
