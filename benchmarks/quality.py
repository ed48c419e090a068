"""Colorization quality on BSD100 and val/wallpapers: every shipped model (and any --model given) beside the
gray baseline.

    python benchmarks/quality.py                       # the shipped models + gray, both sets
    python benchmarks/quality.py --model runs/ae/best.pt --limit 20 --data ../shared/data/val/bsd100

Runs `deepcolor.evaluate` (the one inference path, metrics on the 8-bit sRGB output, the ImageNet-classifier
metrics included) on $DEEPCOLOR_DATA/val/bsd100 and val/wallpapers (default: <repo>/../shared/data/val/...),
prints the tables and the goals of the pretrained-encoder issue for the default model against the previous
default (`autoencoder`), and writes the same as Markdown to benchmarks/results/quality.md:

- floor: PSNR above gray's, mean CIEDE2000 below gray's, colourfulness at least 60% of the truth's;
- new default vs previous: higher PSNR, lower CIEDE2000, colourfulness >= 80% of the truth's, higher
  semantic agreement and lower Frechet distance;
- aim on BSD100: PSNR >= 24.5 dB and CIEDE2000 <= 9.5.

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
DEFAULT_DATA = [DATA_ROOT / "val" / "bsd100", DATA_ROOT / "val" / "wallpapers"]
PREVIOUS = "autoencoder"  # the previous default, still shipped under its name
DEFAULT_MARKDOWN = REPO / "benchmarks" / "results" / "quality.md"
DEFAULT_OUT = REPO / "out" / "quality"

FLOOR_RATIO = 0.6
AIM_RATIO = 0.8
AIM_PSNR = 24.5
AIM_CIEDE2000 = 9.5
CNN_RATIO = 0.9
GAN_CIEDE_MARGIN = 0.5


@dataclass
class Check:
    goal: str
    what: str
    value: str
    passed: bool


def family_checks(
    model: ModelSummary, family: str, gray: ModelSummary, summary: dict[str, ModelSummary],
    aliases: dict[str, str],
) -> list[Check]:
    """The families issue's goals: `cnn` the vivid one (colourfulness >= 90% of the truth's, CIEDE2000 no
    worse than gray); `gan` the realistic one (the lowest Frechet distance of the three, more colourful than
    the default, CIEDE2000 within 0.5 of it, no more blotches)."""
    ratio = model.colorfulness_ratio
    if family == "cnn":
        return [
            Check("family", f"cnn: colourfulness >= {CNN_RATIO:.0%} of truth", f"{ratio:.0%}",
                  ratio >= CNN_RATIO),
            Check("family", "cnn: CIEDE2000 no worse than gray",
                  f"{model.ciede2000:.2f} vs {gray.ciede2000:.2f}", model.ciede2000 <= gray.ciede2000),
        ]
    default = summary.get("default")
    if family != "gan" or default is None:
        return []
    peers = [summary[n] for n in ("default", aliases.get("cnn", "")) if n in summary]
    lowest = min(p.frechet_lite0 for p in peers)
    return [
        Check("family", "gan: lowest Frechet distance (Lite0) of the three",
              f"{model.frechet_lite0:.2f} vs {lowest:.2f}", model.frechet_lite0 < lowest),
        Check("family", "gan: more colourful than the default",
              f"{model.colorfulness_pred:.1f} vs {default.colorfulness_pred:.1f}",
              model.colorfulness_pred > default.colorfulness_pred),
        Check("family", f"gan: CIEDE2000 within {GAN_CIEDE_MARGIN} of the default",
              f"{model.ciede2000:.2f} vs {default.ciede2000:.2f}",
              model.ciede2000 <= default.ciede2000 + GAN_CIEDE_MARGIN),
        Check("family", "gan: no more blotches than the default",
              f"{model.blotches:.2f}% vs {default.blotches:.2f}%", model.blotches <= default.blotches),
    ]


def checks_for(
    model: ModelSummary, gray: ModelSummary, previous: ModelSummary | None, data: str
) -> list[Check]:
    """The floor checks for one model, and for the default the goals against the previous default."""
    ratio = model.colorfulness_ratio
    checks = [
        Check("floor", "PSNR above gray", f"{model.psnr:.2f} vs {gray.psnr:.2f} dB", model.psnr > gray.psnr),
        Check("floor", "CIEDE2000 below gray", f"{model.ciede2000:.2f} vs {gray.ciede2000:.2f}",
              model.ciede2000 < gray.ciede2000),
        Check("floor", f"colourfulness >= {FLOOR_RATIO:.0%} of truth", f"{ratio:.0%}", ratio >= FLOOR_RATIO),
    ]
    if previous is not None:
        checks += [
            Check("goal", "PSNR above the previous default", f"{model.psnr:.2f} vs {previous.psnr:.2f} dB",
                  model.psnr > previous.psnr),
            Check("goal", "CIEDE2000 below the previous default",
                  f"{model.ciede2000:.2f} vs {previous.ciede2000:.2f}", model.ciede2000 < previous.ciede2000),
            Check("goal", f"colourfulness >= {AIM_RATIO:.0%} of truth", f"{ratio:.0%}", ratio >= AIM_RATIO),
            Check("goal", "semantic agreement above the previous default",
                  f"{model.semantic_agreement:.2f} vs {previous.semantic_agreement:.2f}",
                  model.semantic_agreement > previous.semantic_agreement),
            Check("goal", "Frechet distance (Lite0) below the previous default",
                  f"{model.frechet_lite0:.2f} vs {previous.frechet_lite0:.2f}",
                  model.frechet_lite0 < previous.frechet_lite0),
        ]
        if data == "bsd100":
            checks += [
                Check("aim", f"PSNR >= {AIM_PSNR} dB", f"{model.psnr:.2f} dB", model.psnr >= AIM_PSNR),
                Check("aim", f"CIEDE2000 <= {AIM_CIEDE2000}", f"{model.ciede2000:.2f}",
                      model.ciede2000 <= AIM_CIEDE2000),
            ]
    return checks


def shipped() -> tuple[list[str], dict[str, str]]:
    """Names of the shipped weights and their aliases ({} / [] when the inference package has none)."""
    try:
        from deepcolor.inference.weights import read_index, shipped_models
    except ImportError:
        return [], {}
    return shipped_models(), read_index()


def markdown_table(result: EvaluationResult) -> list[str]:
    lines = [
        "| model | images | PSNR dB | SSIM | CIEDE2000 | AuC | colourf. | truth | gap | ratio | \\|gap\\| "
        "| blotches % | agree | FD-lite0 | s/img |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: |",
    ]
    for s in result.summary.values():
        lines.append(
            f"| {s.model} | {s.images} | {s.psnr:.2f} | {s.ssim:.4f} | {s.ciede2000:.2f} | {s.auc:.4f} | "
            f"{s.colorfulness_pred:.1f} | {s.colorfulness_true:.1f} | {s.colorfulness_gap:+.1f} | "
            f"{s.colorfulness_ratio:.2f} | {s.colorfulness_abs_gap:.1f} | {s.blotches:.2f} | "
            f"{s.semantic_agreement:.2f} | "
            f"{s.frechet_lite0:.2f} | {s.seconds:.3f} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], help="extra model (checkpoint, .safetensors)")
    parser.add_argument("--no-shipped", action="store_true", help="skip the shipped models")
    parser.add_argument("--data", type=Path, action="append", default=None,
                        help="folder or tar of truth images (repeatable; default: bsd100 and wallpapers)")
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

    datasets = args.data or DEFAULT_DATA
    missing = [d for d in datasets if not d.exists()]
    if missing:
        print(f"quality: {missing[0]}: not found (set DEEPCOLOR_DATA to the shared data folder)",
              file=sys.stderr)
        return 2
    names, aliases = ([], {}) if args.no_shipped else shipped()
    default = aliases.get("default")
    # the default first, under its alias, then the other shipped models and any --model
    models = (["default"] if default else []) + [n for n in names if n != default] + args.model
    machine = (f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} with "
               f"{torch.get_num_threads()} threads, device {args.device}")
    report = [
        "# Colorization quality",
        "",
        f"{machine}; {datetime.date.today().isoformat()}. Default model: `{default}`; the previous "
        f"default is `{PREVIOUS}`.",
        "Every metric is computed on the 8-bit sRGB output (truth L* + predicted a*b*, clipped to the",
        "gamut): PSNR and SSIM on sRGB, CIEDE2000 per pixel, AuC of the a*b* error over thresholds 0-150",
        "(Zhang et al.), colourfulness of Hasler and Suesstrunk (ratio = mean prediction / mean truth;",
        "|gap| = mean per-image |prediction - truth|), agree = share of images whose EfficientNet-Lite0",
        "ImageNet top-1 on the output equals its top-1 on the truth, FD-lite0 = Frechet distance of Lite0",
        "pooled features",
        "(FID's form, but another network and few images: NOT comparable with published FID).",
        "`gray` is the baseline ab = 0.",
        "",
        f"Command: `{' '.join(['python benchmarks/quality.py', *sys.argv[1:]])}`",
        "",
    ]
    text_checks = []
    failed = False
    total = time.perf_counter()
    for data in datasets:
        start = time.perf_counter()
        try:
            result = evaluate(models, data, limit=args.limit, render_size=args.render_size,
                              output_dir=args.out / data.name, device=args.device, progress=False)
        except EvaluationError as error:
            print(f"quality: {error}", file=sys.stderr)
            return 2
        seconds = time.perf_counter() - start
        failed = failed or bool(result.failed)
        report += [
            f"## {data.name}",
            "",
            f"{max(s.images for s in result.summary.values())} images"
            + (f", {len(result.failed)} unreadable" if result.failed else "") + f"; {seconds:.0f} s.",
            "",
            *markdown_table(result),
            "",
        ]
        gray = result.summary[GRAY]
        previous = result.summary.get(PREVIOUS)
        for label, summary in result.summary.items():
            if label == GRAY:
                continue
            checks = checks_for(summary, gray, previous if label == "default" else None, data.name)
            family = next((f for f in ("cnn", "gan") if aliases.get(f) == label), None)
            if family:
                checks += family_checks(summary, family, gray, result.summary, aliases)
            report += [f"### {label} on {data.name}", "", "| goal | check | value | |",
                       "| --- | --- | ---: | --- |"]
            for c in checks:
                mark = "pass" if c.passed else "FAIL"
                report.append(f"| {c.goal} | {c.what} | {c.value} | {mark} |")
                text_checks.append(
                    f"{data.name:<11} {label:<14} {c.goal:<5} {c.what:<50} {c.value:>18}  {mark}"
                )
            report.append("")
        print(f"== {data.name}")
        print(format_table(result))
    seconds = time.perf_counter() - total
    if text_checks:
        print()
        print("\n".join(text_checks))
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.markdown.with_name(f".{args.markdown.name}.tmp")
    tmp.write_text("\n".join(report))
    tmp.replace(args.markdown)
    print(f"\nwrote {args.markdown} and {args.out}/ ({seconds:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
