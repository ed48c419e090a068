"""`deepcolor colorize --hints / --hint / --reference / --uncertainty`: who gets what, and bad hints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from deepcolor.cli.colorize import command


@pytest.fixture(scope="module")
def hint_model(tmp_path_factory) -> Path:
    """A small random-weight model that takes colour hints, saved as safetensors + json."""
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(0)
    model = create_model(
        "autoencoder", encoder="efficientnet-lite0", decoder_widths=[16, 12, 8, 8], refine_width=4
    )
    with torch.no_grad():  # the hint paths start at zero (an untrained model ignores hints): wake them up
        for layer in (model.hint_stem, model.global_mlp[-1], model.refine[-1]):
            layer.weight.normal_(0, 0.1)
    return save_weights(model, tmp_path_factory.mktemp("model") / "hinted.safetensors", {"render_size": 64})


def _photos(folder: Path, names=("a", "b")) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, name in enumerate(names):
        grey = (np.random.default_rng(i).random((40, 56)) * 255).astype(np.uint8)
        path = folder / f"{name}.png"
        Image.fromarray(grey).save(path)
        paths.append(path)
    return paths


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, [str(a) for a in args])
    return result.exit_code, result.output


def test_a_hint_folder_fails_only_the_input_with_a_bad_hint(tmp_path, hint_model):
    _photos(tmp_path / "in")
    hints = tmp_path / "hints"
    hints.mkdir()
    (hints / "a.json").write_text(json.dumps({"points": [{"x": 5, "y": 5, "color": "#ff0000"}]}))
    (hints / "b.json").write_text(json.dumps({"points": [{"x": 500, "y": 5, "color": "#ff0000"}]}))
    code, output = _run(tmp_path / "in", "-o", tmp_path / "out", "--model", hint_model, "--hints", hints)
    assert code == 1
    assert "b.json: point (500, 5) is outside the image (56 x 40" in output
    assert (tmp_path / "out" / "a.png").is_file()
    assert not (tmp_path / "out" / "b.png").exists()  # nothing partial for the failed input
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]


def test_a_hint_file_nested_2000_deep_fails_its_input_alone(tmp_path, hint_model):
    _photos(tmp_path / "in")
    hints = tmp_path / "hints"
    hints.mkdir()
    (hints / "a.json").write_text('{"points": ' + "[" * 2000 + "]" * 2000 + "}")
    code, output = _run(tmp_path / "in", "-o", tmp_path / "out", "--model", hint_model, "--hints", hints)
    assert code == 1
    assert f"deepcolor: {tmp_path / 'in' / 'a.png'}: {hints / 'a.json'}: JSON nested too deeply" in output
    assert "Traceback" not in output and "RecursionError" not in output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.png"]
    assert output.splitlines()[-1] == "colorized 1 of 2 images; 1 failed"


def test_reference_warnings_a_folder_without_the_stem_and_a_grey_photo(tmp_path, hint_model):
    _photos(tmp_path / "in")
    references = tmp_path / "refs"
    references.mkdir()
    Image.fromarray(np.full((20, 20), 128, np.uint8)).save(references / "a.png")  # grey
    code, output = _run(
        tmp_path / "in", "-o", tmp_path / "out", "--model", hint_model, "--reference", references
    )
    assert code == 0, output
    warnings = [line for line in output.splitlines() if line.startswith("deepcolor: warning:")]
    assert warnings == [
        f"deepcolor: warning: {references / 'a.png'}: the reference photo is grey; it has no colours to "
        "follow",
        f"deepcolor: warning: {tmp_path / 'in' / 'b.png'}: no reference photo named b.* in {references}; "
        "colorized without one",
    ]


def test_a_reference_that_is_a_device_fails_with_an_accurate_reason(tmp_path, hint_model):
    (photo,) = _photos(tmp_path / "in", ("a",))
    code, output = _run(photo, "-o", tmp_path / "out", "--model", hint_model, "--reference", "/dev/zero")
    assert code == 1
    assert "reference /dev/zero: is a character device, not an image file" in output
    assert "empty" not in output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"points": [ {"x": 1,', "malformed JSON"),
        ('{"points": [{"x": 1, "y": 1, "color": "#12"}]}', "#rgb or #rrggbb"),
        ('{"points": [{"x": 1, "y": 1, "color": "blurple"}]}', "does not parse"),
    ],
)
def test_a_bad_hint_file_is_one_line_naming_it(tmp_path, hint_model, content, message):
    (photo,) = _photos(tmp_path / "in", ("a",))
    hint_file = tmp_path / "a-hints.json"
    hint_file.write_text(content)
    code, output = _run(photo, "-o", tmp_path / "out", "--model", hint_model, "--hints", hint_file)
    assert code == 1
    lines = [line for line in output.splitlines() if line.startswith("deepcolor:")]
    assert len(lines) == 1 and "a-hints.json" in lines[0] and message in lines[0]
    assert not (tmp_path / "out" / "a.png").exists()


def test_a_hint_file_for_a_missing_input_is_reported(tmp_path, hint_model):
    _photos(tmp_path / "in")
    hints = tmp_path / "hints"
    hints.mkdir()
    (hints / "zebra.json").write_text(json.dumps({"points": []}))
    code, output = _run(tmp_path / "in", "-o", tmp_path / "out", "--model", hint_model, "--hints", hints)
    assert code == 1
    assert "zebra.json: a hint file for a missing input" in output
    assert (tmp_path / "out" / "a.png").is_file() and (tmp_path / "out" / "b.png").is_file()


def test_single_input_options_refuse_several_inputs(tmp_path, hint_model):
    _photos(tmp_path / "in")
    code, output = _run(tmp_path / "in", "-o", tmp_path / "out", "--model", hint_model, "--hint", "1,1,red")
    assert code == 2 and "--hint is for a single input" in output
    hint_file = tmp_path / "h.json"
    hint_file.write_text('{"points": []}')
    code, output = _run(tmp_path / "in", "-o", tmp_path / "out", "--model", hint_model, "--hints", hint_file)
    assert code == 2 and "a hint file is for a single input" in output


def test_hint_flags_reference_and_uncertainty(tmp_path, hint_model):
    (photo,) = _photos(tmp_path / "in", ("a",))
    reference = tmp_path / "ref.png"
    Image.fromarray((np.random.default_rng(9).random((30, 30, 3)) * 255).astype(np.uint8)).save(reference)
    out = tmp_path / "out"
    code, output = _run(
        photo, "-o", out, "--model", hint_model, "--hint", "3,4,#1f4fa0", "--hint", "50,30,navy",
        "--reference", reference, "--uncertainty",
    )  # fmt: skip
    assert code == 0, output
    assert Image.open(out / "a.png").size == (56, 40)
    heat = Image.open(out / "a.uncertainty.png")
    assert heat.size == (56, 40) and heat.mode == "RGB"
    plain = tmp_path / "plain"
    assert _run(photo, "-o", plain, "--model", hint_model)[0] == 0
    assert not np.array_equal(np.asarray(Image.open(out / "a.png")), np.asarray(Image.open(plain / "a.png")))
    code, output = _run(photo, "-o", tmp_path / "o3", "--model", hint_model, "--hint", "3,4")
    assert code == 1 and "must be X,Y,COLOR" in output
