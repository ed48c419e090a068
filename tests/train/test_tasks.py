"""The registry decides what a training step means: `make_task` follows `model_task`, never the model's
attributes or its family's name."""

import pytest
import torch

from deepcolor.models import create_model, list_models
from deepcolor.models.gan import PatchDiscriminator
from deepcolor.models.registry import ADVERSARIAL_TASKS, model_task
from deepcolor.train import tasks
from train.helpers import tiny_config

SMALL_ENCODER = {"encoder": "efficientnet-lite0", "decoder_widths": [8, 8, 8, 8], "refine_width": 4}
STEPS = {
    "regression": tasks.RegressionTask,
    "classification": tasks.ClassifierTask,
    "adversarial": tasks.GANTask,
    "joint": tasks.EncoderTask,
    "joint-adversarial": tasks.EncoderTask,
}


def _kwargs(name: str, encoder: bool) -> dict:
    if encoder or model_task(name).startswith("joint"):
        return dict(SMALL_ENCODER)
    return {"base_width": 4, "depth": 2}


def _make(tmp_path, name: str, kwargs: dict) -> tasks.Task:
    config = tiny_config(tmp_path, name, model_kwargs=kwargs)
    model = create_model(name, **kwargs)
    config.model_kwargs = dict(model.model_kwargs)  # as the loop records them
    adversarial = model_task(name, config.model_kwargs) in ADVERSARIAL_TASKS
    discriminator = PatchDiscriminator(4, 2) if adversarial else None
    return tasks.make_task(model, lambda module: module, config, torch.device("cpu"), discriminator)


@pytest.mark.parametrize("encoder", [False, True], ids=["scratch", "encoder"])
@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_gets_the_step_of_its_task(tmp_path, name, encoder):
    kwargs = _kwargs(name, encoder)
    task = model_task(name, kwargs)
    step = _make(tmp_path, name, kwargs)
    assert type(step) is STEPS[task]
    assert ("discriminator" in step.optimizers) == (task in ADVERSARIAL_TASKS)
    columns = tasks.extra_columns(task)
    assert ("loss_adv" in columns) == (task in ADVERSARIAL_TASKS)
    assert ("loss_cls" in columns) == task.startswith("joint")


def test_the_registry_not_the_model_decides(tmp_path, monkeypatch):
    # a from-scratch regressor that happens to have a `class_loss` attribute is still trained as a regressor
    from deepcolor.models import registry

    for table in ("_REGISTRY", "_DESCRIPTIONS", "_TASKS", "_VARIANT_KWARGS"):
        monkeypatch.setattr(registry, table, dict(getattr(registry, table)))

    def odd(**kwargs):
        model = create_model("autoencoder", **kwargs)
        model.class_loss = lambda *args: torch.zeros(())
        return model

    registry.register_model("odd-regressor", "a regressor with a class_loss attribute")(odd)
    step = _make(tmp_path, "odd-regressor", {"base_width": 4, "depth": 2})
    assert type(step) is tasks.RegressionTask


def test_the_perceptual_loss_column_follows_the_run():
    assert tasks.extra_columns("joint", perceptual=True) == ["loss_reg", "loss_cls", "loss_perc"]
    adversarial = tasks.extra_columns("joint-adversarial", perceptual=True)
    assert adversarial == ["loss_reg", "loss_cls", "loss_perc", "loss_adv", "loss_d"]
    assert tasks.extra_columns("regression") == [] and tasks.extra_columns("adversarial")[0] == "loss_l1"


@pytest.mark.parametrize("encoder", [False, True], ids=["scratch", "encoder"])
def test_the_critic_warms_up_before_the_generator_hears_it(tmp_path, encoder):
    kwargs = _kwargs("gan", encoder)
    step = _make(tmp_path, "gan", kwargs)
    step.config.disc_warmup_steps, step.config.pretrain_steps = 2, 0
    critic = [p.detach().clone() for p in step.discriminator.parameters()]
    l_norm, ab_norm = torch.rand(2, 1, 32, 32) * 2 - 1, torch.rand(2, 2, 32, 32) * 0.4 - 0.2
    warm = step.step(l_norm, ab_norm, 0)
    assert warm["loss_adv"] == 0.0 and warm["loss_d"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(critic, step.discriminator.parameters(), strict=True))
    assert step.step(l_norm, ab_norm, 2)["loss_adv"] > 0  # past the warm-up the generator hears it


def test_the_critic_can_judge_pooled_pairs():
    critic = PatchDiscriminator(4, 2, pool=2)
    assert critic(torch.zeros(1, 1, 32, 32), torch.zeros(1, 2, 32, 32)).shape == (1, 1, 4, 4)
    with pytest.raises(ValueError, match="pool"):
        PatchDiscriminator(4, 2, pool=0)
