from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deepcolor.inference import Colorizer, load_predictor
from deepcolor.inference.onnx import compare_onnx, export_onnx

onnx = pytest.importorskip("onnx")
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
    expected = r"ONNX export failed \(torchscript: unsupported operator aten::something; dynamo: unsupported"
    with pytest.raises(RuntimeError, match=expected):
        export_onnx(tiny_model, target)
    assert list(tmp_path.iterdir()) == []  # no file, no temporary left behind


def test_a_trace_that_differs_from_pytorch_at_another_size_is_not_kept(tmp_path, monkeypatch, tiny_model):
    from deepcolor.inference import onnx as onnx_module

    used = []
    real_torchscript = onnx_module._export_torchscript

    def frozen_trace(wrapper, sample, path):  # a trace that froze a size: right only at the traced size
        used.append("torchscript")
        real_torchscript(wrapper, sample, path)
        proto = onnx.load(str(path))  # its output halved: wrong wherever it is checked
        output = proto.graph.output[0].name
        for node in proto.graph.node:
            node.output[:] = ["raw" if name == output else name for name in node.output]
        half = onnx.helper.make_tensor("half", onnx.TensorProto.FLOAT, [], [0.5])
        proto.graph.initializer.append(half)
        proto.graph.node.append(onnx.helper.make_node("Mul", ["raw", "half"], [output]))
        onnx.save(proto, str(path))

    def dynamo(wrapper, sample, path):
        used.append("dynamo")
        real_torchscript(wrapper, sample, path)  # a correct file, whichever exporter makes it here

    monkeypatch.setattr(onnx_module, "_export_torchscript", frozen_trace)
    monkeypatch.setattr(onnx_module, "_export_dynamo", dynamo)
    target = tmp_path / "model.onnx"
    assert export_onnx(tiny_model, target) == "dynamo"
    assert used == ["torchscript", "dynamo"]
    assert compare_onnx(tiny_model, target) < 1e-3


def _export_beside(weights: Path) -> Path:
    """`<weights>.onnx` as `deepcolor export` writes it: recording the SHA-256 of the weights it came from."""
    from deepcolor.inference.onnx import file_sha256
    from deepcolor.inference.weights import load_module

    module, meta = load_module(weights)
    path = weights.with_suffix(".onnx")
    meta = {k: v for k, v in meta.items() if k != "extra_tensors"}
    export_onnx(module, path, meta={**meta, "source": weights.name, "source_sha256": file_sha256(weights)})
    return path


def test_onnxruntime_backend_runs_the_matching_export_instead_of_exporting_again(tiny_weights, monkeypatch):
    from deepcolor.inference import onnx as onnx_module
    from deepcolor.inference.onnx import OnnxPredictor
    from deepcolor.inference.weights import clear_cache

    companion = _export_beside(tiny_weights)
    exports = []
    real_export = onnx_module.export_onnx
    monkeypatch.setattr(onnx_module, "export_onnx", lambda *a, **k: exports.append(a) or real_export(*a, **k))
    clear_cache()
    predictor = load_predictor(tiny_weights, backend="onnxruntime")
    assert isinstance(predictor, OnnxPredictor) and exports == []  # the file beside, not a new export
    assert predictor.meta["source_sha256"] and predictor.meta["render_size"] == 64
    # also when a CUDA device is asked for: onnxruntime runs on the CPU either way
    assert isinstance(load_predictor(tiny_weights, device="cuda", backend="onnxruntime"), OnnxPredictor)
    assert exports == []
    l_norm = torch.rand(1, 1, 40, 56) - 0.5
    by_torch = load_predictor(tiny_weights, backend="torch")(l_norm)
    torch.testing.assert_close(predictor(l_norm), by_torch, atol=1e-5, rtol=0)
    # Weights changed since the export: it is stale, and the model is exported in memory instead.
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(5)
    save_weights(create_model("autoencoder", base_width=4, depth=1), tiny_weights)
    assert companion.is_file()
    clear_cache()
    assert isinstance(load_predictor(tiny_weights, backend="onnxruntime"), OnnxPredictor)
    assert len(exports) == 1


def test_onnxruntime_backend_uses_the_shipped_export(monkeypatch):
    from deepcolor.inference import onnx as onnx_module
    from deepcolor.inference.onnx import OnnxPredictor, matching_onnx
    from deepcolor.inference.weights import resolve_weights, shipped_models

    # the shipped weights that have an export beside them (the default and the previous one ship theirs)
    exported = [n for n in shipped_models() if matching_onnx(resolve_weights(n)) is not None]
    assert {"autoencoder", "autoencoder-lite0"} <= set(exported)
    monkeypatch.setattr(onnx_module, "export_onnx", lambda *a, **k: pytest.fail("exported again"))
    colorizer = Colorizer(exported[0], device="cpu", backend="onnxruntime")
    assert isinstance(colorizer.predictor, OnnxPredictor)
