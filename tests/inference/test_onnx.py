from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deepcolor.inference import Colorizer, load_predictor
from deepcolor.inference.onnx import compare_onnx, export_onnx

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[torch.nn.Module, Path]:
    from deepcolor.models import create_model

    torch.manual_seed(0)
    model = create_model("autoencoder", base_width=4, depth=1).eval()
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    export_onnx(
        model,
        path,
        meta={"model_name": "autoencoder", "model_kwargs": {"base_width": 4, "depth": 1}, "render_size": 48},
    )
    return model, path


def test_onnx_matches_pytorch_at_other_sizes(exported):
    model, path = exported
    assert compare_onnx(model, path, size=(40, 72)) < 1e-3  # a*b* units
    # Another batch and odd sizes: the axes are dynamic, and both predictors pad to the same multiple.
    l_norm = torch.rand(3, 1, 33, 21) - 0.5
    by_onnx = load_predictor(path)(l_norm)
    by_torch = load_predictor(model)(l_norm)
    assert by_onnx.shape == (3, 2, 33, 21)
    torch.testing.assert_close(by_onnx, by_torch, atol=1e-5, rtol=0)


def test_onnx_file_carries_its_metadata(exported):
    _, path = exported
    colorizer = Colorizer(str(path), device="cpu")
    assert colorizer.meta["model_name"] == "autoencoder"
    assert colorizer.render_size == 48


def test_colorizer_gives_the_same_image_with_either_backend(exported):
    model, path = exported
    grey = np.random.default_rng(0).random((50, 70)).astype(np.float32)
    by_torch = Colorizer(model, device="cpu").colorize_array(grey, render_size=48)
    by_onnx = Colorizer(str(path), device="cpu").colorize_array(grey, render_size=48)
    np.testing.assert_allclose(by_onnx, by_torch, atol=1e-4)


def test_export_failure_is_reported_and_leaves_nothing(tmp_path, monkeypatch, tiny_model):
    from deepcolor.inference import onnx as onnx_module

    def broken(wrapper, sample, path):
        path.write_bytes(b"half a file")  # as an exporter that dies midway would leave it
        raise RuntimeError("unsupported operator aten::something\nmore details")

    monkeypatch.setattr(onnx_module, "_export_dynamo", broken)
    monkeypatch.setattr(onnx_module, "_export_torchscript", broken)
    target = tmp_path / "bad.onnx"
    expected = r"ONNX export failed \(dynamo: unsupported operator aten::something; torchscript: unsupported"
    with pytest.raises(RuntimeError, match=expected):
        export_onnx(tiny_model, target)
    assert list(tmp_path.iterdir()) == []  # no file, no temporary left behind
