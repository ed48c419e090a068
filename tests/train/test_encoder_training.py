"""`train` with a pretrained-encoder model of each family: the loop, the prior, the discriminator, resume."""

import pytest
import torch

from deepcolor.models import list_models
from deepcolor.train import train
from deepcolor.train.checkpoint import load_checkpoint
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
    checkpoint = load_checkpoint(run_dir / "last.pt")
    assert checkpoint["step"] == 3
    assert checkpoint["model_kwargs"]["encoder"] == "efficientnet-lite0"
    assert (checkpoint["discriminator"] is not None) == (name == "gan")
    groups = checkpoint["optimizers"]["model"]["param_groups"]
    assert min(g["lr"] for g in groups) < max(g["lr"] for g in groups)  # the encoder's is lower
    assert torch.count_nonzero(checkpoint["model"]["class_weights"] != 1) > 0  # rebalanced from the prior
    resumed = train(make_config(checkpoint["config"]), resume=checkpoint)
    unbroken = train(make_config({**values, "run_name": "unbroken"}))
    assert [s for s, _ in loss_rows(resumed)] == [1, 2, 3, 4, 5, 6]
    assert loss_rows(resumed) == loss_rows(unbroken)  # same steps, same losses, to the digit
