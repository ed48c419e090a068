import json

import pytest
import torch

from deepcolor.models import create_model, load_model, save_weights
from deepcolor.models.checkpoint import CheckpointError, read_checkpoint, read_weights
from deepcolor.train.checkpoint import save_checkpoint


@pytest.mark.parametrize("name", ["autoencoder", "cnn"])
def test_safetensors_round_trip(tmp_path, name):
    torch.manual_seed(1)
    model = create_model(name, base_width=4, depth=2)
    if name == "cnn":
        model.set_prior(torch.rand(model.num_bins))
        model.temperature = 0.2
    path = save_weights(model, tmp_path / "w.safetensors", {"val_l1": 9.5})
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["model_name"] == name and meta["val_l1"] == 9.5
    loaded = load_model(path)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    if name == "cnn":
        assert loaded.temperature == 0.2
    x = torch.rand(1, 1, 16, 16) - 0.5
    torch.testing.assert_close(loaded.predict_ab(x), model.eval().predict_ab(x))


def test_checkpoint_prefers_ema(tmp_path):
    model = create_model("autoencoder", base_width=4, depth=2)
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in model.state_dict().items()}
    save_checkpoint(
        {
            "model_name": "autoencoder",
            "model_kwargs": model.model_kwargs,
            "model": model.state_dict(),
            "ema": ema,
        },
        tmp_path / "c.pt",
    )
    key = "net.head.bias"
    assert torch.equal(load_model(tmp_path / "c.pt").state_dict()[key], ema[key])
    assert torch.equal(load_model(tmp_path / "c.pt", ema=False).state_dict()[key], model.state_dict()[key])


def test_bad_files_give_one_line_errors(tmp_path):
    with pytest.raises(CheckpointError, match=r"none\.pt: no such file$"):
        load_model(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match=r"junk\.pt: not a readable PyTorch checkpoint \("):
        load_model(tmp_path / "junk.pt")
    (tmp_path / "lonely.safetensors").write_bytes(b"x")
    with pytest.raises(CheckpointError, match=r"lonely\.safetensors: its metadata lonely\.json is missing"):
        load_model(tmp_path / "lonely.safetensors")
    torch.save({"weights": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match=r"foreign\.pt: not a deepcolor checkpoint"):
        read_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match=r"model\.onnx: an ONNX file has no PyTorch module"):
        (tmp_path / "model.onnx").write_bytes(b"onnx")
        read_weights(tmp_path / "model.onnx")


def test_one_error_type_for_every_loader(tmp_path):
    import deepcolor.inference
    from deepcolor.errors import DeepcolorError
    from deepcolor.inference.weights import resolve_weights

    assert issubclass(CheckpointError, DeepcolorError) and issubclass(CheckpointError, ValueError)
    assert not hasattr(deepcolor.inference, "WeightsError")  # no second name for the one error
    with pytest.raises(CheckpointError, match="no such file"):
        read_checkpoint(tmp_path / "none.pt")
    with pytest.raises(CheckpointError, match="nope: unknown model"):
        resolve_weights("nope")


def test_writing_a_model_file_fails_with_a_checkpoint_error(tmp_path):
    from deepcolor.io import ImageError
    from deepcolor.train.checkpoint import save_checkpoint
    from deepcolor.train.prior import save_prior

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    model = create_model("autoencoder", base_width=4, depth=2)
    writes = {
        "weights": lambda: save_weights(model, blocker / "w.safetensors"),
        "checkpoint": lambda: save_checkpoint({"model": {}}, blocker / "last.pt"),
        "prior": lambda: save_prior(torch.ones(3) / 3, torch.zeros(3, 2), blocker / "prior.pt", 1),
    }
    for what, write in writes.items():
        with pytest.raises(CheckpointError, match=r"a-file/\S+: cannot write") as caught:
            write()
        assert not isinstance(caught.value, ImageError), what
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize("prefix", ["module.", "_orig_mod.", "module._orig_mod.", "_orig_mod.module."])
def test_wrapper_prefixes_are_stripped(tmp_path, prefix):
    # DistributedDataParallel adds "module.", torch.compile "_orig_mod.", both for a wrapped compiled model
    model = create_model("autoencoder", base_width=4, depth=2)
    wrapped = {prefix + k: v for k, v in model.state_dict().items()}
    torch.save(
        {"model_name": "autoencoder", "model_kwargs": model.model_kwargs, "model": wrapped, "ema": wrapped},
        tmp_path / "c.pt",
    )
    checkpoint = read_checkpoint(tmp_path / "c.pt")
    assert set(checkpoint["model"]) == set(checkpoint["ema"]) == set(model.state_dict())
    loaded = load_model(tmp_path / "c.pt")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_pickled_objects_are_refused(tmp_path):
    import argparse

    model = create_model("autoencoder", base_width=4, depth=2)
    torch.save(
        {
            "model_name": "autoencoder",
            "model_kwargs": {},
            "model": model.state_dict(),
            "config": argparse.Namespace(lr=1e-3),
        },
        tmp_path / "odd.pt",
    )
    with pytest.raises(CheckpointError, match=r"odd\.pt: not a plain checkpoint dict"):
        read_weights(tmp_path / "odd.pt")


def test_old_checkpoint_with_a_numpy_rng_state_is_read(tmp_path):
    # Checkpoints written before the numpy RNG state was stored as a tensor hold a numpy array.
    import numpy as np

    model = create_model("autoencoder", base_width=4, depth=2)
    state = np.random.RandomState(0).get_state()  # noqa: NPY002  (what the old code pickled)
    torch.save(
        {
            "model_name": "autoencoder",
            "model_kwargs": model.model_kwargs,
            "model": model.state_dict(),
            "ema": None,
            "rng": {"numpy": state},
        },
        tmp_path / "old.pt",
    )
    checkpoint = read_checkpoint(tmp_path / "old.pt")
    assert np.array_equal(checkpoint["rng"]["numpy"][1], state[1])
    assert torch.equal(
        load_model(tmp_path / "old.pt").state_dict()["net.head.bias"], model.state_dict()["net.head.bias"]
    )  # ema None: the raw weights


def test_read_weights_reads_the_file_once_for_model_and_checkpoint(tmp_path, monkeypatch):
    model = create_model("autoencoder", base_width=4, depth=2)
    save_checkpoint(
        {
            "model_name": "autoencoder",
            "model_kwargs": model.model_kwargs,
            "model": model.state_dict(),
            "ema": None,
            "step": 12,
        },
        tmp_path / "c.pt",
    )
    calls = []
    real = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(a) or real(*a, **k))
    weights = read_weights(tmp_path / "c.pt")
    built = weights.build()
    assert len(calls) == 1
    assert (
        weights.checkpoint["step"] == 12
        and weights.meta["step"] == 12
        and weights.meta["extra_tensors"] == {}
    )
    assert weights.model_name == "autoencoder" and built.model_kwargs == model.model_kwargs


def test_unexpected_tensors_are_reported_not_dropped(tmp_path):
    model = create_model("autoencoder", base_width=4, depth=2)
    state = {**model.state_dict(), "stray": torch.ones(3)}
    torch.save(
        {"model_name": "autoencoder", "model_kwargs": model.model_kwargs, "model": state}, tmp_path / "c.pt"
    )
    weights = read_weights(tmp_path / "c.pt")
    weights.build()
    assert list(weights.meta["extra_tensors"]) == ["stray"]
    del state["net.head.bias"]
    torch.save(
        {"model_name": "autoencoder", "model_kwargs": model.model_kwargs, "model": state},
        tmp_path / "short.pt",
    )
    with pytest.raises(CheckpointError, match=r"short\.pt: weights do not fit model \(missing 1 tensors"):
        load_model(tmp_path / "short.pt")


def test_train_export_weights_reads_the_checkpoint_once(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from deepcolor.cli.train import command

    model = create_model("autoencoder", base_width=4, depth=2)
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in model.state_dict().items()}
    state = {"model_name": "autoencoder", "model_kwargs": model.model_kwargs, "model": model.state_dict()}
    save_checkpoint({**state, "ema": ema, "step": 9, "config": {"lr": 0.001}}, tmp_path / "best.pt")
    calls = []
    real = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(a) or real(*a, **k))
    result = CliRunner().invoke(command, ["--export-weights", str(tmp_path / "best.pt")])
    assert result.exit_code == 0, result.stderr
    assert len(calls) == 1
    meta = json.loads((tmp_path / "best.json").read_text())
    assert meta["step"] == 9 and meta["ema"] is True and meta["config"] == {"lr": 0.001}
    exported = load_model(tmp_path / "best.safetensors")
    assert torch.equal(exported.state_dict()["net.head.bias"], ema["net.head.bias"])
    result = CliRunner().invoke(command, ["--export-weights", str(tmp_path / "best.safetensors")])
    assert result.exit_code == 2 and "takes a training checkpoint" in result.stderr
