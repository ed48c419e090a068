"""Two-step training of every family on synthetic images, what a run leaves behind, EMA, bad input."""

import csv
import json

import pytest
import torch

from deepcolor.models import create_model, list_models, load_model
from deepcolor.models.checkpoint import read_checkpoint
from deepcolor.models.registry import ADVERSARIAL_TASKS, model_task
from deepcolor.train import ConfigError, train
from train.helpers import loss_rows, tiny_config

# The registered models whose default build is a from-scratch network (tests/train/test_encoder_training.py
# trains the pretrained-encoder ones).
FROM_SCRATCH = [name for name in list_models() if not model_task(name).startswith("joint")]


@pytest.mark.parametrize("model", FROM_SCRATCH)
def test_two_steps_per_family(tmp_path, model):
    adversarial = model_task(model) in ADVERSARIAL_TASKS
    extra = {"pretrain_steps": 1} if adversarial else {}  # the second step is adversarial
    run_dir = train(tiny_config(tmp_path, model, **extra))
    for name in (
        "last.pt",
        "best.pt",
        "best.safetensors",
        "best.json",
        "config.yaml",
        "metrics.csv",
        "loss.png",
    ):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "samples" / "step_0000002.png").is_file()
    rows = loss_rows(run_dir)
    assert [s for s, _ in rows] == [1, 2] and all(float(v) > 0 for _, v in rows)
    ckpt = read_checkpoint(run_dir / "last.pt")
    assert ckpt["step"] == 2 and ckpt["model_name"] == model and ckpt["config"]["max_steps"] == 2
    # the saved weights are the trained ones: they differ from a fresh init with the same seed
    torch.manual_seed(0)
    fresh = create_model(model, **ckpt["model_kwargs"]).state_dict()
    assert any(not torch.equal(fresh[k], v) for k, v in ckpt["model"].items() if v.is_floating_point())
    assert (ckpt["discriminator"] is not None) == adversarial
    if adversarial:
        assert "discriminator" not in json.loads((run_dir / "best.json").read_text())["model_kwargs"]
        with (run_dir / "metrics.csv").open() as f:
            adv = [float(r["loss_adv"]) for r in csv.DictReader(f) if r["loss_adv"]]
        assert adv[0] == 0.0 and adv[1] > 0.0  # L1 only, then adversarial
    if model_task(model) == "classification":
        assert (run_dir / "prior.pt").is_file()
        assert not torch.allclose(
            ckpt["model"]["class_weights"], torch.ones_like(ckpt["model"]["class_weights"])
        )


def test_checkpoint_loads_into_an_equal_model(tmp_path):
    run_dir = train(tiny_config(tmp_path, "cnn"))
    ckpt = read_checkpoint(run_dir / "last.pt")
    model = load_model(run_dir / "last.pt")
    for key, value in ckpt["model"].items():
        assert torch.equal(model.state_dict()[key], value), key
    from_safetensors = load_model(run_dir / "best.safetensors")
    x = torch.rand(2, 1, 16, 16) - 0.5
    torch.testing.assert_close(from_safetensors.predict_ab(x), model.predict_ab(x))


def test_ema_weights_are_kept_and_exported(tmp_path):
    run_dir = train(tiny_config(tmp_path, ema=True, ema_decay=0.5, max_steps=3, val_every=3, ckpt_every=3))
    ckpt = read_checkpoint(run_dir / "last.pt")
    key = "net.head.weight"
    assert ckpt["ema"] is not None and not torch.equal(ckpt["ema"][key], ckpt["model"][key])
    assert torch.equal(load_model(run_dir / "best.safetensors").state_dict()[key], ckpt["ema"][key])


def test_init_from_an_autoencoder_checkpoint(tmp_path):
    ae_dir = train(tiny_config(tmp_path, "autoencoder"))
    config = tiny_config(
        tmp_path,
        "gan",
        init_from=str(ae_dir / "last.pt"),
        model_kwargs={},
        max_steps=1,
        val_every=1,
        ckpt_every=1,
        sample_every=1,
    )
    gan_dir = train(config)
    assert read_checkpoint(gan_dir / "last.pt")["model_kwargs"]["base_width"] == 4  # taken from the init


def test_existing_run_is_not_overwritten(tmp_path):
    train(tiny_config(tmp_path, max_steps=1, ckpt_every=1, val_every=1))
    with pytest.raises(ConfigError, match="already holds a run"):
        train(tiny_config(tmp_path, max_steps=1))


def test_lr_schedule_warms_up_then_decays(tmp_path):
    run_dir = train(
        tiny_config(tmp_path, max_steps=6, warmup_steps=2, val_every=6, ckpt_every=6, sample_every=6)
    )
    with (run_dir / "metrics.csv").open() as f:
        lrs = [float(r["lr"]) for r in csv.DictReader(f) if r["lr"]]
    peak = lrs.index(max(lrs))
    assert lrs[0] < lrs[peak] and lrs[-1] < lrs[peak] and max(lrs) <= 3e-3


class _ConstantAB(torch.nn.Module):
    """A stand-in model: predicts the same ab_norm everywhere."""

    def __init__(self, ab_norm):
        super().__init__()
        self.ab_norm = torch.tensor(ab_norm).view(1, 2, 1, 1)

    def predict_ab(self, l_norm):
        return self.ab_norm.expand(l_norm.shape[0], 2, *l_norm.shape[-2:])


def test_validation_metrics_on_known_answers():
    import numpy as np
    from skimage.color import lab2rgb, rgb2lab

    from deepcolor.train.loop import evaluate

    rgb = torch.zeros(3, 8, 8, 3, dtype=torch.uint8)
    rgb[..., 0] = 255  # pure red: L 53.24, a 80.09, b 67.20
    lab = rgb2lab(np.array([[[1.0, 0.0, 0.0]]]))[0, 0]
    grey = lab2rgb(np.array([[[lab[0], 0.0, 0.0]]]))[0, 0]
    psnr_grey = 10 * np.log10(1.0 / np.mean((grey - np.array([1.0, 0.0, 0.0])) ** 2))
    scores = evaluate(_ConstantAB([0.0, 0.0]), rgb, torch.device("cpu"), batch_size=2)
    assert scores["val_l1"] == pytest.approx((abs(lab[1]) + abs(lab[2])) / 2, abs=0.05)
    assert scores["val_psnr"] == pytest.approx(psnr_grey, abs=0.05)
    exact = evaluate(_ConstantAB([lab[1] / 110, lab[2] / 110]), rgb, torch.device("cpu"))
    assert exact["val_l1"] < 0.05 and exact["val_psnr"] > 40


def test_a_checkpoint_that_cannot_be_written_is_a_checkpoint_error(tmp_path):
    from deepcolor.io import ImageError
    from deepcolor.models import CheckpointError

    config = tiny_config(tmp_path, max_steps=1, val_every=1, ckpt_every=1, sample_every=1)
    (tmp_path / "runs" / config.run_name / "best.pt").mkdir(parents=True)  # a folder where the file goes
    with pytest.raises(CheckpointError, match=r"best\.pt: cannot write") as caught:
        train(config)
    assert not isinstance(caught.value, ImageError) and "\n" not in str(caught.value)
