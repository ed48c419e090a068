"""`deepcolor export --onnx`: a file that onnxruntime runs with the model's output, the difference printed."""

from __future__ import annotations

import re

import pytest
import torch
from click.testing import CliRunner

from deepcolor.cli.export import command

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def test_export_then_colorize_with_the_file(tmp_path):
    from deepcolor.inference import Colorizer
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(0)
    weights = save_weights(create_model("autoencoder", base_width=4, depth=1), tmp_path / "tiny.safetensors")
    target = tmp_path / "models" / "tiny.onnx"
    result = CliRunner().invoke(
        command, ["--onnx", "-o", str(target), "--model", str(weights), "--render-size", "96"]
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"wrote {target} (") and "dynamic batch/height/width" in lines[0]
    difference = float(re.search(r"max \|ab difference\| = (\S+) \(a\*b\* units\)", lines[1]).group(1))
    assert difference < 1e-3
    colorizer = Colorizer(str(target), device="cpu")
    assert colorizer.render_size == 96 and colorizer.meta["model_name"] == "autoencoder"


def test_bad_arguments(tmp_path):
    result = CliRunner().invoke(
        command, ["--onnx", "-o", str(tmp_path / "m.onnx"), "--model", str(tmp_path / "nothing.safetensors")]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == f"deepcolor: {tmp_path / 'nothing.safetensors'}: no such model file"
    result = CliRunner().invoke(command, ["--onnx", "-o", str(tmp_path / "m.txt")])
    assert result.exit_code == 2 and "must end in .onnx" in result.stderr
    result = CliRunner().invoke(command, ["-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2  # --onnx is required
