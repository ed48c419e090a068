"""`deepcolor.evaluate`: the gray baseline, an oracle with known scores, tar = folder, bad images, outputs."""

from __future__ import annotations

import csv
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepcolor import evaluate as evaluate_module
from deepcolor.color import rgb_to_lab
from deepcolor.evaluate import GRAY, EvaluationError, evaluate, format_table

SIZE = (20, 16)  # (W, H): tiny, but large enough for SSIM's 11 x 11 window


def _photo(seed: int) -> np.ndarray:
    """A colourful (H, W, 3) uint8 image: smooth colour ramps plus noise."""
    rng = np.random.default_rng(seed)
    w, h = SIZE
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    base = np.stack([x, y, 1 - x * y], axis=-1) * rng.uniform(0.5, 1.0, 3) + rng.uniform(0, 0.2, 3)
    noisy = base + rng.normal(0, 0.04, base.shape)
    return (np.clip(noisy, 0, 1) * 255).round().astype(np.uint8)


def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def photos() -> dict[str, np.ndarray]:
    images = {f"img{i}.png": _photo(i) for i in range(3)}
    grey = _photo(9).mean(axis=-1, keepdims=True).round().astype(np.uint8).repeat(3, axis=-1)
    images["z_grey.png"] = grey
    return images


@pytest.fixture
def folder(tmp_path: Path, photos: dict[str, np.ndarray]) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    for name, array in photos.items():
        (root / name).write_bytes(_png_bytes(array))
    return root


@pytest.fixture
def oracle(monkeypatch: pytest.MonkeyPatch, photos: dict[str, np.ndarray]) -> None:
    """A model called "oracle" that returns the true ab of each test photo (looked up by its L)."""
    labs = [rgb_to_lab(torch.from_numpy(a).float().div(255).permute(2, 0, 1)[None]) for a in photos.values()]

    class Oracle:
        def predict_ab(self, l: torch.Tensor, render_size: int | None = None) -> torch.Tensor:
            # The photo whose L is closest (the reader's float rounding may differ from ours by ~1e-7).
            lab = min(labs, key=lambda lab: (lab[:, :1] - l).abs().max().item())
            assert (lab[:, :1] - l).abs().max() < 1e-3
            return lab[:, 1:].clone()

    real = evaluate_module._load_predictor
    monkeypatch.setattr(
        evaluate_module, "_load_predictor", lambda m, *args: Oracle() if m == "oracle" else real(m, *args)
    )


def test_gray_baseline_alone(folder: Path) -> None:
    result = evaluate([GRAY], folder, progress=False)
    assert result.models == [GRAY] and not result.failed
    s = result.summary[GRAY]
    assert s.images == 4
    # The baseline's output is grey: colourfulness 0 up to 8-bit rounding of the Lab -> sRGB conversion.
    assert s.colorfulness_pred < 0.5
    assert s.colorfulness_true > 10
    assert s.colorfulness_ratio == pytest.approx(s.colorfulness_pred / s.colorfulness_true)
    assert s.colorfulness_gap == pytest.approx(s.colorfulness_pred - s.colorfulness_true)
    rows = {r["image"]: r for r in result.per_image}
    # On the grey photo the baseline is (almost) the truth; on the colourful ones it is far from it.
    assert rows["z_grey.png"]["psnr"] > 45 and rows["z_grey.png"]["ciede2000"] < 0.5
    for name in ("img0.png", "img1.png", "img2.png"):
        assert rows[name]["psnr"] < 30 and rows[name]["ciede2000"] > 5 and rows[name]["auc"] < 0.95


def test_oracle_known_answers_and_order(folder: Path, oracle: None) -> None:
    result = evaluate(["oracle", GRAY, "oracle"], folder, progress=False)
    assert result.models == [GRAY, "oracle"]  # gray first, duplicates dropped
    gray, best = result.summary[GRAY], result.summary["oracle"]
    # The true ab joined with the true L gives back the 8-bit truth, up to a rounding step in a few pixels.
    assert best.psnr > 45 and best.ssim > 0.99 and best.ciede2000 < 0.5 and best.auc > 0.99
    assert best.colorfulness_ratio == pytest.approx(1.0, abs=0.01)
    assert best.psnr > gray.psnr and best.ciede2000 < gray.ciede2000 and best.auc > gray.auc
    assert [r["image"] for r in result.per_image[::2]] == ["img0.png", "img1.png", "img2.png", "z_grey.png"]


def test_tar_shard_matches_folder(tmp_path: Path, folder: Path, photos: dict[str, np.ndarray]) -> None:
    shard = tmp_path / "shard.tar"
    with tarfile.open(shard, "w") as archive:
        for name in sorted(photos):
            payload = _png_bytes(photos[name])
            info = tarfile.TarInfo(f"val/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
        note = b"not an image"
        info = tarfile.TarInfo("val/README.txt")
        info.size = len(note)
        archive.addfile(info, io.BytesIO(note))
    from_tar = evaluate([GRAY], shard, progress=False)
    from_folder = evaluate([GRAY], folder, progress=False)
    assert from_tar.per_image[0]["image"] == "shard.tar/val/img0.png"
    assert [r["psnr"] for r in from_tar.per_image] == [r["psnr"] for r in from_folder.per_image]
    assert from_tar.summary[GRAY].ciede2000 == from_folder.summary[GRAY].ciede2000


def test_bad_images_are_reported_and_skipped(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "broken.png").write_bytes(b"this is not a PNG")
    (folder / "tiny.png").write_bytes(_png_bytes(_photo(5)[:6, :6]))  # too small for SSIM's window
    (folder / "tinier.png").write_bytes(_png_bytes(_photo(6)[:4, :9]))
    seen: list[str] = []
    result = evaluate([GRAY], folder, progress=False, on_failure=seen.append)
    assert result.summary[GRAY].images == result.images_scored == 4
    assert len(result.failed) == 3 and seen == result.failed
    broken, tinier, tiny = result.failed  # in index order
    # deepcolor.io's wording, the file named once, one line: what the commands print for the same file
    assert broken == f"{folder / 'broken.png'}: not an image (it looks like a text file)"
    assert tiny == "tiny.png: too small for SSIM (6 x 6 pixels; it needs at least 11 x 11)"
    assert tinier.startswith("tinier.png: too small for SSIM (9 x 4 pixels")
    assert result.skipped == {"unreadable": 1, "too small for SSIM": 2}
    assert result.counts_line() == "4 images scored, 1 unreadable, 2 too small for SSIM (skipped)"
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""  # the library prints nothing; the command does


def test_command_prints_the_same_lines_and_accurate_counts(folder: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from deepcolor.cli.evaluate import command

    (folder / "a_tiny.png").write_bytes(_png_bytes(_photo(5)[:6, :6]))
    (folder / "b_tiny.png").write_bytes(_png_bytes(_photo(6)[:8, :30]))
    (folder / "c_bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    expected = evaluate([GRAY], folder, progress=False)
    result = CliRunner().invoke(
        command, ["-m", GRAY, "-d", str(folder), "-o", str(tmp_path / "out"), "--no-progress"]
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"deepcolor: {line}" for line in expected.failed]
    assert result.stdout.splitlines()[0] == (
        f"{folder}: 4 images scored, 1 unreadable, 2 too small for SSIM (skipped)"
    )
    assert not any("<_io." in line or "decompression bomb" in line.lower() for line in expected.failed)


def test_tar_members_are_named_in_failures(tmp_path: Path, photos: dict[str, np.ndarray]) -> None:
    shard = tmp_path / "shard.tar"
    with tarfile.open(shard, "w") as archive:
        for name, payload in (("a.png", _png_bytes(photos["img0.png"])), ("b.png", bytes(range(256)))):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    result = evaluate([GRAY], shard, progress=False)
    assert result.failed == ["shard.tar/b.png: not an image, or a format deepcolor cannot read"]
    assert result.skipped == {"unreadable": 1} and result.images_scored == 1


def test_the_library_does_not_import_the_command_line() -> None:
    import subprocess
    import sys

    code = (
        "import sys, deepcolor.evaluate; "
        "assert not [m for m in sys.modules if m.startswith('deepcolor.cli')], "
        "[m for m in sys.modules if m.startswith('deepcolor.cli')]"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_limit_takes_the_first_images(folder: Path) -> None:
    result = evaluate([GRAY], folder, limit=2, progress=False)
    assert [r["image"] for r in result.per_image] == ["img0.png", "img1.png"]
    with pytest.raises(EvaluationError, match="at least 1"):
        evaluate([GRAY], folder, limit=0)


def test_data_problems_are_one_line_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    with pytest.raises(EvaluationError, match="no images found"):
        evaluate([GRAY], empty)
    with pytest.raises(EvaluationError, match="no such file or folder"):
        evaluate([GRAY], tmp_path / "missing")
    text = tmp_path / "data.txt"
    text.write_text("hello")
    with pytest.raises(EvaluationError, match="data.txt: not a folder, a .tar shard or an image"):
        evaluate([GRAY], text)


def test_outputs_csv_sheet_and_table(tmp_path: Path, folder: Path, oracle: None) -> None:
    out = tmp_path / "out"
    result = evaluate(["oracle"], folder, sheet_count=2, output_dir=out, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["per_image.csv", "sheet.png", "summary.csv"]
    with open(out / "per_image.csv", newline="") as handle:
        per_image = list(csv.DictReader(handle))
    assert len(per_image) == 8 and {r["model"] for r in per_image} == {GRAY, "oracle"}
    assert float(per_image[0]["psnr"]) == pytest.approx(result.per_image[0]["psnr"], rel=1e-5)
    with open(out / "summary.csv", newline="") as handle:
        summary = {r["model"]: r for r in csv.DictReader(handle)}
    oracle_de = result.summary["oracle"].ciede2000
    assert float(summary["oracle"]["ciede2000"]) == pytest.approx(oracle_de, rel=1e-5)
    assert float(summary[GRAY]["colorfulness_ratio"]) < 0.05
    sheet = np.asarray(Image.open(out / "sheet.png"))
    # 2 rows x 3 columns (grey | oracle | truth) of 256-pixel tiles: wider than tall.
    assert sheet.shape[1] > 3 * 256 and 2 * 150 < sheet.shape[0] < 3 * 256
    table = format_table(result).splitlines()
    assert table[0].split()[:3] == ["model", "images", "PSNR"]
    assert table[2].startswith(GRAY) and table[3].startswith("oracle")
    assert len({len(line) for line in table}) == 1  # aligned columns


# --------------------------------------------------------------------- real models through the inference path


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    """A random-weight autoencoder saved as a training checkpoint would be: a plain dict."""
    from deepcolor.models import create_model

    torch.manual_seed(0)
    kwargs = {"base_width": 4, "depth": 2}
    model = create_model("autoencoder", **kwargs)
    path = tmp_path / "run" / "best.pt"
    path.parent.mkdir()
    torch.save({"model_name": "autoencoder", "model_kwargs": kwargs, "model": model.state_dict()}, path)
    return path


def test_random_model_end_to_end(tmp_path: Path, folder: Path, tiny_checkpoint: Path) -> None:
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(1)
    weights = save_weights(create_model("autoencoder", base_width=4, depth=2), tmp_path / "tiny.safetensors")
    out = tmp_path / "out"
    result = evaluate(
        [str(tiny_checkpoint), str(weights)],
        folder,
        render_size=16,
        output_dir=out,
        sheet_count=4,
        progress=False,
        device="cpu",
    )
    label = "run/best.pt"  # paths are labelled by their last two parts
    assert result.models == [GRAY, label, "/".join(weights.parts[-2:])]
    assert not result.failed
    for name in result.models:
        s = result.summary[name]
        assert s.images == 4
        for value in (s.psnr, s.ssim, s.ciede2000, s.auc, s.colorfulness_pred):
            assert np.isfinite(value)
    assert result.summary[label].seconds > 0 and result.summary[GRAY].seconds == 0
    # A random model predicts some colour, unlike gray; its scores are its own, not copies of gray's.
    assert result.summary[label].colorfulness_pred > result.summary[GRAY].colorfulness_pred
    assert result.summary[label].ciede2000 != result.summary[GRAY].ciede2000
    sheet = np.asarray(Image.open(out / "sheet.png"))
    assert sheet.shape[1] > 4 * 256  # grey | two models | truth


def test_unknown_model_fails_before_reading_images(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match=r"^no-such-model: "):
        evaluate(["no-such-model"], folder, progress=False)
    with pytest.raises(EvaluationError, match="no such model file"):
        evaluate([str(tmp_path / "missing.pt")], folder, progress=False)


@pytest.mark.data
def test_real_tar_shard_and_folder(data_dir: Path) -> None:
    """The reader on the real validation shard and BSD100: fixed order, full size, the gray baseline's scores
    in the range that grey photos get (BSD100: about 22.8 dB over all 100 images)."""
    shard = evaluate([GRAY], data_dir / "val" / "tiny64-val.tar", limit=3, progress=False)
    assert [r["image"].split("/")[0] for r in shard.per_image] == ["tiny64-val.tar"] * 3
    assert (
        shard.per_image
        == evaluate([GRAY], data_dir / "val" / "tiny64-val.tar", limit=3, progress=False).per_image
    )  # deterministic order
    bsd = evaluate([GRAY], data_dir / "val" / "bsd100", limit=2, progress=False)
    assert [r["image"] for r in bsd.per_image] == sorted(r["image"] for r in bsd.per_image)
    assert 15 < bsd.summary[GRAY].psnr < 35 and bsd.summary[GRAY].colorfulness_true > 5


def test_models_run_through_the_batch_api(tmp_path: Path, folder: Path, monkeypatch) -> None:
    from deepcolor.inference import Colorizer
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(2)
    weights = save_weights(create_model("autoencoder", base_width=4, depth=2), tmp_path / "tiny.safetensors")
    calls: list[int] = []
    colorize_many = Colorizer.colorize_many

    def spy(self, ls, *args, **kwargs):
        calls.append(len(ls))
        return colorize_many(self, ls, *args, **kwargs)

    monkeypatch.setattr(Colorizer, "colorize_many", spy)
    options = evaluate_module.EvaluationOptions(progress=False, perceptual=False, device="cpu", render_size=8)
    batched = evaluate([str(weights)], folder, options, batch_size=3)
    assert calls == [3, 1]  # four images: a chunk of three through the network together, then one
    one_by_one = evaluate([str(weights)], folder, options, batch_size=1)
    assert calls[2:] == [1, 1, 1, 1]
    assert [(r["image"], r["model"]) for r in batched.per_image] == [
        (r["image"], r["model"]) for r in one_by_one.per_image
    ]
    for a, b in zip(batched.per_image, one_by_one.per_image, strict=True):
        assert a["psnr"] == pytest.approx(b["psnr"], abs=0.05), a["image"]  # float rounding, 8-bit output


def test_options_are_one_dataclass_and_overrides_are_checked(folder: Path) -> None:
    options = evaluate_module.EvaluationOptions(limit=2, progress=False, perceptual=False)
    assert evaluate([GRAY], folder, options).summary[GRAY].images == 2
    assert evaluate([GRAY], folder, options, limit=3).summary[GRAY].images == 3  # an override wins
    with pytest.raises(TypeError):
        evaluate([GRAY], folder, options, limmit=3)
    with pytest.raises(EvaluationError, match="batch_size must be at least 1"):
        evaluate([GRAY], folder, options, batch_size=0)
