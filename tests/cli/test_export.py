"""`deepcolor export --onnx`: a file that onnxruntime runs with the model's output, the difference printed."""

from __future__ import annotations

import re

import numpy as np
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


def test_auto_backend_uses_a_matching_export_beside_the_weights(tmp_path):
    from deepcolor.inference import Colorizer
    from deepcolor.inference.weights import OnnxPredictor, TorchPredictor, clear_cache
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(1)
    weights = save_weights(create_model("autoencoder", base_width=4, depth=1), tmp_path / "w.safetensors")
    result = CliRunner().invoke(command, ["--onnx", "-o", str(tmp_path / "w.onnx"), "--model", str(weights)])
    assert result.exit_code == 0, result.stderr
    clear_cache()
    auto = Colorizer(str(weights), device="cpu")
    assert isinstance(auto.predictor, OnnxPredictor)
    forced = Colorizer(str(weights), device="cpu", backend="torch")
    assert isinstance(forced.predictor, TorchPredictor)
    grey = np.linspace(0, 1, 40 * 60, dtype=np.float32).reshape(40, 60)
    np.testing.assert_allclose(auto.colorize_array(grey), forced.colorize_array(grey), atol=1e-4)
    # Retrained weights: the export beside them is stale and ignored.
    torch.manual_seed(2)
    save_weights(create_model("autoencoder", base_width=4, depth=1), weights)
    clear_cache()
    assert isinstance(Colorizer(str(weights), device="cpu").predictor, TorchPredictor)


def test_an_existing_file_is_replaced_only_with_overwrite(tmp_path):
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(0)
    weights = save_weights(create_model("autoencoder", base_width=4, depth=1), tmp_path / "tiny.safetensors")
    target = tmp_path / "ae.onnx"
    target.write_bytes(b"an earlier export")
    args = ["--onnx", "-o", str(target), "--model", str(weights), "--render-size", "64"]
    refused = CliRunner().invoke(command, args)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == f"deepcolor: {target}: exists; pass --overwrite to replace it"
    assert target.read_bytes() == b"an earlier export"
    replaced = CliRunner().invoke(command, [*args, "--overwrite"])
    assert replaced.exit_code == 0, replaced.stderr
    assert target.read_bytes() != b"an earlier export" and target.stat().st_size > 1000
