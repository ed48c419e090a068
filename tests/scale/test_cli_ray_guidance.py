"""`--engine ray` with colorize's guidance: ``--hints`` (a folder), ``--hint``, ``--reference`` and
``--uncertainty`` give the local engine's bytes, messages and exit code; a bad hint file fails its row
alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from tests.scale.conftest import import_ray, write_photos
from tests.scale.test_cli_ray import files_of, messages, summary

from deepcolor.cli.main import cli as main
from deepcolor.scale.manifest import read_manifest

pytestmark = pytest.mark.slow  # Ray workers load a model each


@pytest.fixture(scope="module")
def hint_model(tmp_path_factory) -> Path:
    """A small random-weight model that takes colour hints and references (its hint paths woken up)."""
    import torch

    from deepcolor.models import create_model, save_weights

    torch.manual_seed(0)
    model = create_model(
        "autoencoder", encoder="efficientnet-lite0", decoder_widths=[16, 12, 8, 8], refine_width=4
    )
    with torch.no_grad():  # an untrained model ignores hints: make them count
        for layer in (model.hint_stem, model.global_mlp[-1], model.refine[-1]):
            layer.weight.normal_(0, 0.1)
    return save_weights(model, tmp_path_factory.mktemp("model") / "hinted.safetensors", {"render_size": 64})


def both_engines(args: list[str]) -> dict:
    """The same colorize through the local engine (out_local) and the Ray engine (out_ray, 2 workers)."""
    runs = {}
    for engine in ("local", "ray"):
        extra = ["--workers", "2"] if engine == "ray" else []
        command = [
            "colorize",
            *args,
            "-o",
            f"out_{engine}",
            "--engine",
            engine,
            "--manifest",
            f"{engine}.jsonl",
        ]
        runs[engine] = CliRunner().invoke(main, command + extra)
    return runs


def same_as_local(runs: dict, code: int) -> None:
    local, ray = runs["local"], runs["ray"]
    assert ray.exit_code == local.exit_code == code, ray.stderr
    assert files_of(Path("out_ray")) == files_of(Path("out_local"))  # names and bytes
    assert messages(ray.stderr) == [m.replace("out_local", "out_ray") for m in messages(local.stderr)]
    assert summary(ray.stderr) == summary(local.stderr)


def test_a_hint_folder_and_a_bad_hint_file_failing_its_row_alone(
    ray_address, tmp_path, monkeypatch, hint_model
):
    monkeypatch.chdir(tmp_path)
    write_photos(Path("in"), 3)
    Path("hints").mkdir()
    Path("hints/photo000.json").write_text(json.dumps({"points": [{"x": 5, "y": 5, "color": "#c02010"}]}))
    Path("hints/photo001.json").write_text('{"points": [')  # malformed
    runs = both_engines(["in", "--model", str(hint_model), "--hints", "hints"])
    same_as_local(runs, 1)
    assert sorted(files_of(Path("out_ray"))) == ["photo000.png", "photo002.png"]
    assert "deepcolor: in/photo001.png: hints/photo001.json: malformed JSON" in runs["ray"].stderr
    rows = {r["source"]: r for r in read_manifest("ray.jsonl")}
    assert [rows[f"in/photo00{i}.png"]["status"] for i in range(3)] == ["ok", "failed", "ok"]
    # the hint counts: the hinted photo differs from the same photo colorized without it
    plain = ["colorize", "in/photo000.png", "-o", "plain", "--model", str(hint_model)]
    assert CliRunner().invoke(main, plain).exit_code == 0
    assert Path("plain/photo000.png").read_bytes() != Path("out_ray/photo000.png").read_bytes()


def test_hint_strings_and_uncertainty(ray_address, tmp_path, monkeypatch, hint_model):
    monkeypatch.chdir(tmp_path)
    write_photos(Path("in"), 1)
    args = ["in/photo000.png", "--model", str(hint_model), "--hint", "3,4,#1f4fa0", "--hint", "40,20,navy"]
    runs = both_engines(args + ["--uncertainty"])
    same_as_local(runs, 0)
    assert sorted(files_of(Path("out_ray"))) == ["photo000.png", "photo000.uncertainty.png"]


def test_a_reference_photo_with_uncertainty_and_the_rows(ray_address, tmp_path, monkeypatch, hint_model):
    monkeypatch.chdir(tmp_path)
    write_photos(Path("in"), 2)
    y, x = np.mgrid[0:30, 0:30]
    colour = np.stack([x * 8, y * 8, 255 - x * 8], -1).astype(np.uint8)
    Image.fromarray(colour, "RGB").save("reference.png")
    runs = both_engines(["in", "--model", str(hint_model), "--reference", "reference.png", "--uncertainty"])
    same_as_local(runs, 0)
    assert sorted(files_of(Path("out_ray"))) == [
        "photo000.png",
        "photo000.uncertainty.png",
        "photo001.png",
        "photo001.uncertainty.png",
    ]
    # the Python API lists each map in its row
    from deepcolor.scale import colorize_dataset

    import_ray()
    out = tmp_path / "api"
    rows = colorize_dataset(
        [str(tmp_path / "in/photo000.png")],
        [str(out / "photo000.png")],
        model=str(hint_model),
        options={"uncertainty": True},
        row_options=[{"reference": str(tmp_path / "reference.png")}],
    ).take_all()
    assert [(r["status"], r["uncertainty"]) for r in rows] == [("ok", str(out / "photo000.uncertainty.png"))]
    assert (out / "photo000.png").read_bytes() == Path("out_local/photo000.png").read_bytes()
    assert (out / "photo000.uncertainty.png").read_bytes() == Path(
        "out_local/photo000.uncertainty.png"
    ).read_bytes()


def test_a_reference_folder_a_grey_reference_and_one_missing(ray_address, tmp_path, monkeypatch, hint_model):
    monkeypatch.chdir(tmp_path)
    write_photos(Path("in"), 2)
    Path("refs").mkdir()
    Image.fromarray(np.full((20, 20), 128, np.uint8)).save("refs/photo000.png")  # grey
    runs = both_engines(["in", "--model", str(hint_model), "--reference", "refs"])
    same_as_local(runs, 0)
    assert "deepcolor: warning: refs/photo000.png: the reference photo is grey" in runs["ray"].stderr
    assert "in/photo001.png: no reference photo named photo001.* in refs" in runs["ray"].stderr
