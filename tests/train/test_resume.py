"""A run killed with SIGKILL (or stopped with Ctrl-C) and resumed writes the same loss sequence and weights
as an unbroken run."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from deepcolor.models.checkpoint import read_checkpoint
from deepcolor.train import train
from deepcolor.train.config import make_config, read_preset
from train.helpers import loss_rows, tiny_config, write_preset

# Runs `deepcolor train` and SIGKILLs itself right after metrics.csv gets the row of `kill_at`: that is after
# the checkpoint of step 4 (ckpt_every 2), with step 5 done but not saved, so the resume must redo it.
RUNNER = textwrap.dedent("""
    import os, signal, sys
    import deepcolor.train.logging as logging
    kill_at = int(os.environ.get("KILL_AT_STEP", "0"))
    add = logging.MetricsLog.add
    def add_then_maybe_die(self, row):
        add(self, row)
        if kill_at and int(row["step"]) == kill_at and row.get("loss") is not None:
            os.kill(os.getpid(), signal.SIGKILL)
    logging.MetricsLog.add = add_then_maybe_die
    from deepcolor.cli.main import main
    sys.argv = ["deepcolor", "train", *sys.argv[1:]]
    main()
""")


def run(tmp_path, args, kill_at=0):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    env = {**os.environ, "KILL_AT_STEP": str(kill_at), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_unbroken_run(tmp_path):
    # the gan has the most state: generator, discriminator, two optimisers, the switch to adversarial at 3
    preset = write_preset(
        tmp_path, "gan", max_steps=8, ckpt_every=2, val_every=4, sample_every=8, pretrain_steps=3
    )
    train(make_config({**read_preset(preset), "run_name": "unbroken"}))  # in-process: same code, same numbers
    killed = run(tmp_path, ["--config", str(preset), "--run-name", "killed"], kill_at=5)
    assert killed.returncode == -9  # SIGKILL
    runs = tmp_path / "runs"
    assert read_checkpoint(runs / "killed" / "last.pt")["step"] == 4
    assert [s for s, _ in loss_rows(runs / "killed")] == [1, 2, 3, 4, 5]  # step 5 was logged, not saved
    resumed = run(tmp_path, ["--resume", str(runs / "killed")])
    assert resumed.returncode == 0, resumed.stderr
    assert loss_rows(runs / "killed") == loss_rows(runs / "unbroken")  # same steps, same losses, to the digit
    a, b = read_checkpoint(runs / "unbroken" / "last.pt"), read_checkpoint(runs / "killed" / "last.pt")
    for part in ("model", "discriminator"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), (part, key)
    assert a["ranks"][0]["data"] == b["ranks"][0]["data"]


def test_ctrl_c_saves_and_resume_continues(tmp_path, monkeypatch):
    # Ctrl-C is SIGINT -> KeyboardInterrupt in the main thread; raise it where a step has just been logged
    from deepcolor.train import logging

    add = logging.MetricsLog.add

    def add_then_interrupt(self, row):
        add(self, row)
        if row["step"] == 3 and row.get("loss") is not None:
            raise KeyboardInterrupt

    monkeypatch.setattr(logging.MetricsLog, "add", add_then_interrupt)
    config = tiny_config(tmp_path, max_steps=6, ckpt_every=100, val_every=100, sample_every=100)
    with pytest.raises(KeyboardInterrupt):
        train(config)
    run_dir = tmp_path / "runs" / "tiny-autoencoder"
    assert read_checkpoint(run_dir / "last.pt")["step"] == 3
    assert (run_dir / "loss.png").is_file()
    monkeypatch.setattr(logging.MetricsLog, "add", add)
    checkpoint = read_checkpoint(run_dir / "last.pt")
    train(make_config(checkpoint["config"]), resume=checkpoint)
    assert [s for s, _ in loss_rows(run_dir)] == [1, 2, 3, 4, 5, 6]
    unbroken = train(
        tiny_config(
            tmp_path, max_steps=6, run_name="unbroken", ckpt_every=100, val_every=100, sample_every=100
        )
    )
    assert loss_rows(unbroken) == loss_rows(run_dir)


def test_ctrl_c_during_a_step_finishes_it_and_resume_matches_an_unbroken_run(tmp_path, monkeypatch):
    # A real SIGINT arriving inside a step (here: half-way through the task's step 3). The step finishes,
    # the run saves with the data position and RNG of a whole step, and the resume replays exactly the
    # unbroken run's losses (it used to resume one batch off: the position was taken before the step).
    import signal

    from deepcolor.train import tasks

    step = tasks.RegressionTask.step

    def step_with_sigint(self, l_norm, ab_norm, index):
        if index == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return step(self, l_norm, ab_norm, index)

    monkeypatch.setattr(tasks.RegressionTask, "step", step_with_sigint)
    # as in a terminal: a test runner started in the background inherits SIGINT ignored, and the run keeps
    # an ignored signal ignored
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    config = tiny_config(tmp_path, max_steps=6, ckpt_every=100, val_every=100, sample_every=100)
    try:
        with pytest.raises(KeyboardInterrupt):
            train(config)
    finally:
        signal.signal(signal.SIGINT, previous)
    run_dir = tmp_path / "runs" / "tiny-autoencoder"
    assert read_checkpoint(run_dir / "last.pt")["step"] == 3  # the interrupted step was completed
    monkeypatch.setattr(tasks.RegressionTask, "step", step)
    checkpoint = read_checkpoint(run_dir / "last.pt")
    train(make_config(checkpoint["config"]), resume=checkpoint)
    unbroken = train(
        tiny_config(
            tmp_path, max_steps=6, run_name="unbroken", ckpt_every=100, val_every=100, sample_every=100
        )
    )
    assert [s for s, _ in loss_rows(run_dir)] == [1, 2, 3, 4, 5, 6]
    assert loss_rows(unbroken) == loss_rows(run_dir)
