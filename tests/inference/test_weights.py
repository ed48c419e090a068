from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from deepcolor.inference import Colorizer, load_predictor
from deepcolor.inference.weights import load_module, read_index, resolve_weights, shipped_models
from deepcolor.models.checkpoint import CheckpointError

from .helpers import TINY_KWARGS


def _l_norm() -> torch.Tensor:
    # Multiples of 32: the predictors pad nothing, so they must give exactly the model's own prediction.
    return torch.rand(1, 1, 32, 64, generator=torch.Generator().manual_seed(3)) - 0.5


def _same_prediction(predictor, model) -> None:
    with torch.inference_mode():
        torch.testing.assert_close(predictor(_l_norm()), model.predict_ab(_l_norm()))


def test_safetensors_with_json(tiny_weights, tiny_model):
    predictor = load_predictor(tiny_weights)
    assert predictor.name == "tiny" and predictor.meta["render_size"] == 64
    _same_prediction(predictor, tiny_model)


def test_checkpoint_prefers_ema_weights(tmp_path, tiny_model):
    from deepcolor.models import create_model

    other = create_model("autoencoder", **TINY_KWARGS)
    checkpoint = {
        "model_name": "autoencoder",
        "model_kwargs": TINY_KWARGS,
        "model": other.state_dict(),
        "ema": {f"module.{k}": v for k, v in tiny_model.state_dict().items()},  # DDP prefix stripped
        "step": 7,
        "config": {"lr": 1e-3, "presets": ["a", "b"]},
    }
    path = tmp_path / "last.pt"
    torch.save(checkpoint, path)
    predictor = load_predictor(path)
    assert predictor.meta["step"] == 7
    _same_prediction(predictor, tiny_model)


def test_checkpoint_with_pickled_objects_is_refused(tmp_path, tiny_model):
    # An object that is not plain data (any class instance): weights_only loading refuses it, and so do we,
    # rather than unpickling code from a file.
    config = argparse.Namespace(lr=1e-3)
    path = tmp_path / "odd.pt"
    torch.save(
        {
            "model_name": "autoencoder",
            "model_kwargs": TINY_KWARGS,
            "model": tiny_model.state_dict(),
            "config": config,
        },
        path,
    )
    with pytest.raises(CheckpointError, match="odd.pt: not a plain checkpoint dict"):
        load_predictor(path)


def test_shipped_names_and_aliases(tmp_path, tiny_weights, tiny_model):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for suffix in (".safetensors", ".json"):
        (shipped / f"small-v1{suffix}").write_bytes(tiny_weights.with_suffix(suffix).read_bytes())
    (shipped / "index.json").write_text(json.dumps({"default": "small-v1", "fast": "small-v1"}))
    assert shipped_models(shipped) == ["small-v1"]
    assert read_index(shipped) == {"default": "small-v1", "fast": "small-v1"}
    assert resolve_weights("default", shipped) == shipped / "small-v1.safetensors"
    assert resolve_weights("small-v1", shipped) == shipped / "small-v1.safetensors"
    colorizer = Colorizer("fast", device="cpu", weights_dir=shipped)
    _same_prediction(colorizer.predictor, tiny_model)
    with pytest.raises(CheckpointError, match="nope: unknown model; shipped: default, fast, small-v1"):
        resolve_weights("nope", shipped)


def test_nothing_shipped_is_one_clear_line(tmp_path):
    with pytest.raises(CheckpointError) as caught:
        Colorizer("default", device="cpu", weights_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith("default: unknown model; shipped: none;") and "\n" not in message


@pytest.mark.parametrize(
    ("setup", "pattern"),
    [
        ("missing", r"gone\.safetensors: no such model file"),
        ("no_json", r"lonely\.safetensors: its metadata lonely\.json is missing"),
        ("bad_json", r"broken\.json: not readable JSON"),
        ("unknown_family", r"alien\.json: cannot build model 'martian'"),
        ("wrong_shapes", r"wide\.safetensors: weights do not fit model"),
        ("not_safetensors", r"junk\.safetensors: not a readable safetensors file"),
        ("not_checkpoint", r"junk\.pt: not a readable PyTorch checkpoint"),
        ("bad_onnx", r"junk\.onnx: not a loadable ONNX model"),
    ],
)
def test_broken_files_are_one_line_errors(tmp_path, tiny_weights, setup, pattern):
    def copy(name: str, meta: dict | None = None) -> Path:
        target = tmp_path / f"{name}.safetensors"
        target.write_bytes(tiny_weights.read_bytes())
        if meta is not None:
            target.with_suffix(".json").write_text(json.dumps(meta))
        return target

    if setup == "missing":
        path = tmp_path / "gone.safetensors"
    elif setup == "no_json":
        path = copy("lonely")
    elif setup == "bad_json":
        path = copy("broken")
        path.with_suffix(".json").write_text("{not json")
    elif setup == "unknown_family":
        path = copy("alien", {"model_name": "martian", "model_kwargs": {}})
    elif setup == "wrong_shapes":
        path = copy("wide", {"model_name": "autoencoder", "model_kwargs": {"base_width": 6, "depth": 1}})
    elif setup == "not_safetensors":
        path = tmp_path / "junk.safetensors"
        path.write_bytes(b"\x00" * 64)
        path.with_suffix(".json").write_text(json.dumps({"model_name": "autoencoder", "model_kwargs": {}}))
    elif setup == "not_checkpoint":
        path = tmp_path / "junk.pt"
        path.write_bytes(b"this is not a zip archive")
    else:
        pytest.importorskip("onnxruntime")
        path = tmp_path / "junk.onnx"
        path.write_bytes(b"\x08\x07garbage")
    with pytest.raises(CheckpointError, match=pattern) as caught:
        load_predictor(path)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)  # what evaluation and the commands catch


def test_loaded_files_are_cached_per_process(tiny_weights):
    first = load_predictor(tiny_weights)
    assert load_predictor(tiny_weights) is first
    tiny_weights.touch()  # a file written again is loaded again
    import os

    os.utime(tiny_weights, ns=(0, 1_000_000_000))
    assert load_predictor(tiny_weights) is not first


def test_module_needs_predict_ab():
    with pytest.raises(CheckpointError, match="predict_ab"):
        load_predictor(torch.nn.Conv2d(1, 2, 3))


def test_load_module_for_export(tiny_weights, tiny_model):
    module, meta = load_module(tiny_weights)
    assert not module.training and meta["model_name"] == "autoencoder"
    _same_prediction(load_predictor(module), tiny_model)


def test_predictors_pad_odd_sizes_to_the_size_multiple(tiny_model):
    from deepcolor.inference.weights import SIZE_MULTIPLE, pad_to_multiple

    l_norm = torch.rand(2, 1, 45, 70) - 0.5
    padded = pad_to_multiple(l_norm, SIZE_MULTIPLE)
    assert padded.shape == (2, 1, 64, 96)
    torch.testing.assert_close(padded[..., :45, :70], l_norm)
    assert (padded[..., 45:, :70] == l_norm[..., 44:45, :]).all()  # the last row repeated
    with torch.inference_mode():
        expected = tiny_model.predict_ab(padded)[..., :45, :70]
    torch.testing.assert_close(load_predictor(tiny_model)(l_norm), expected)


def test_the_shipped_default_loads_and_colorizes():
    colorizer = Colorizer("default", device="cpu", backend="torch")
    assert colorizer.render_size >= 16
    grey = torch.linspace(0, 100, 48 * 64).reshape(1, 1, 48, 64)
    ab = colorizer.predict_ab(grey, render_size=64)
    assert ab.shape == (1, 2, 48, 64) and torch.isfinite(ab).all()
    assert ab.abs().max() < 128


def test_small_networks_run_on_one_thread_and_the_setting_is_restored(tiny_model):
    seen = []

    class Spy(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = tiny_model

        def predict_ab(self, l_norm):
            seen.append(torch.get_num_threads())
            return self.inner.predict_ab(l_norm)

    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        load_predictor(Spy())(torch.zeros(1, 1, 32, 32))
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_a_loaded_model_is_folded_and_channels_last_and_agrees_with_the_module_as_built():
    owned = load_predictor("default")
    module, _ = load_module("default")  # the same weights, unchanged: a borrowed module is never altered
    borrowed = load_predictor(module)
    assert owned.channels_last and not borrowed.channels_last
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in owned.module.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in module.modules())
    l_norm = torch.rand(1, 1, 70, 45) * 2 - 1
    hints = torch.zeros(1, 3, 70, 45)
    hints[0, :, 30, 20] = torch.tensor([0.4, 0.3, 1.0])
    got, expected = owned(l_norm, hints=hints), borrowed(l_norm, hints=hints)
    assert got.shape == (1, 2, 70, 45) and got.is_contiguous()
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    probs = owned.distribution(l_norm, hints=hints)
    assert probs.shape[-2:] == (18, 12)
    torch.testing.assert_close(probs, borrowed.distribution(l_norm, hints=hints), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(1, 18, 12))


def test_the_shipped_gan_is_the_default_with_more_chroma_in_the_same_hue():
    """`--model gan` (gan-lite0): the default's tensors plus a saturation head; its a*b* has the default's hue
    at every pixel, its chroma scaled by at most 2 either way."""
    from skimage import data as samples

    from deepcolor.inference import lightness
    from deepcolor.inference.weights import WEIGHTS_DIR
    from deepcolor.models.checkpoint import read_weights

    gan, default = (
        read_weights(WEIGHTS_DIR / f"{n}.safetensors").state for n in ("gan-lite0", "autoencoder-lite0")
    )
    extra = set(gan) - set(default)
    assert extra and all(k.startswith("saturation.") for k in extra) and set(default) <= set(gan)
    assert all(torch.equal(gan[k], default[k]) for k in default)
    photo = samples.astronaut()[::4, ::4].astype(np.float32) / 255.0
    l = lightness(photo)
    ab_gan = Colorizer("gan", device="cpu", backend="torch").predict_ab(l, render_size=128)
    ab_default = Colorizer("autoencoder-lite0", device="cpu", backend="torch").predict_ab(l, render_size=128)
    chroma_gan, chroma_default = ab_gan.norm(dim=1), ab_default.norm(dim=1)
    sure = chroma_default > 3.0
    cosine = (ab_gan * ab_default).sum(dim=1)[sure] / (chroma_gan * chroma_default)[sure]
    assert cosine.min() > 0.99  # the same hue (the guided upsampling may blend neighbours a little)
    ratio = chroma_gan[sure] / chroma_default[sure]
    assert 0.45 < ratio.min() and ratio.max() < 2.2
    assert not torch.allclose(ab_gan, ab_default, atol=0.5)  # the head does change the chroma
