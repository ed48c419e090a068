"""`deepcolor train` from the command line: one-line errors with exit 2, resume, prior, export."""

import json
import os
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from deepcolor.cli.main import cli
from deepcolor.models.checkpoint import read_checkpoint
from train.helpers import loss_rows, write_preset


def invoke(*args):
    return CliRunner().invoke(cli, ["train", *map(str, args)])


def one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deepcolor: "), result.output
    assert all(n in lines[0] for n in needles), lines[0]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_no_config():
    one_line_error(invoke(), "--config")


def test_missing_preset(tmp_path):
    one_line_error(invoke("--config", tmp_path / "none.yaml"), "none.yaml", "no such config file")


def test_unknown_key(tmp_path):
    one_line_error(
        invoke("--config", write_preset(tmp_path), "--batch-sise", "3"), "batch_sise", "batch_size"
    )


def test_missing_training_data(tmp_path):
    preset = write_preset(tmp_path, train_data=[str(tmp_path / "nowhere.tar")])
    one_line_error(invoke("--config", preset), "nowhere.tar", "no such tar shard")


def test_bad_model_kwargs(tmp_path):
    one_line_error(invoke("--config", write_preset(tmp_path), "--model-kwargs.widht", "3"), "widht")


def test_resume_from_nothing(tmp_path):
    one_line_error(invoke("--resume", tmp_path), "last.pt", "no such file")  # the one loader's wording


def test_list_keys():
    result = invoke("--list-keys")
    assert result.exit_code == 0 and "--max-steps" in result.output and "--model-kwargs" in result.output


def test_train_then_resume_longer(tmp_path):
    preset = write_preset(tmp_path, max_steps=2)
    assert invoke("--config", preset).exit_code == 0
    run_dir = tmp_path / "runs" / "tiny-autoencoder"
    one_line_error(invoke("--config", preset), "already holds a run", "--resume")
    result = invoke("--resume", run_dir, "--max-steps", 3, "--val-every", 3, "--ckpt-every", 3)
    assert result.exit_code == 0, result.output
    assert read_checkpoint(run_dir / "last.pt")["step"] == 3
    assert [s for s, _ in loss_rows(run_dir)] == [1, 2, 3]


def test_compute_prior_then_train_with_it(tmp_path):
    preset = write_preset(tmp_path, "cnn")
    prior_path = tmp_path / "prior.pt"
    result = invoke("--config", preset, "--compute-prior", prior_path)
    assert result.exit_code == 0, result.output
    prior = torch.load(prior_path, weights_only=True)["prior"]
    assert prior.shape == (261,) and abs(float(prior.sum()) - 1) < 1e-5 and (prior > 0).sum() > 3
    assert (
        invoke("--config", preset, "--prior", prior_path, "--max-steps", 1, "--val-every", 1).exit_code == 0
    )
    ckpt = read_checkpoint(tmp_path / "runs" / "tiny-cnn" / "last.pt")
    torch.testing.assert_close(ckpt["model"]["prior"], prior)
    one_line_error(invoke("--config", write_preset(tmp_path), "--compute-prior", prior_path), "cnn")


def test_export_weights(tmp_path):
    preset = write_preset(tmp_path, max_steps=1, val_every=1, ckpt_every=1)
    assert invoke("--config", preset).exit_code == 0
    last = tmp_path / "runs" / "tiny-autoencoder" / "last.pt"
    result = invoke("--export-weights", last)
    assert result.exit_code == 0, result.output
    meta = json.loads(last.with_suffix(".json").read_text())
    assert meta["model_name"] == "autoencoder" and meta["step"] == 1
    assert last.with_suffix(".safetensors").is_file()


def test_export_weights_keeps_a_shipped_files_inference_settings(tmp_path):
    from deepcolor.inference import Colorizer

    preset = write_preset(tmp_path, max_steps=1, val_every=1, ckpt_every=1)
    assert invoke("--config", preset).exit_code == 0
    last = tmp_path / "runs" / "tiny-autoencoder" / "last.pt"
    shipped = tmp_path / "shipped.json"
    shipped.write_text(
        json.dumps({"model_name": "cnn", "model_kwargs": {"x": 1}, "step": 99, "render_size": 96,
                    "chroma_gain": 1.25, "card": "docs/models/x.md"})
    )  # fmt: skip
    result = invoke("--export-weights", last, "--settings-from", shipped)
    assert result.exit_code == 0, result.output
    meta = json.loads(last.with_suffix(".json").read_text())
    assert (meta["render_size"], meta["chroma_gain"], meta["card"]) == (96, 1.25, "docs/models/x.md")
    assert meta["model_name"] == "autoencoder" and meta["step"] == 1  # the model is the checkpoint's
    colorizer = Colorizer(str(last.with_suffix(".safetensors")), device="cpu", backend="torch")
    assert (colorizer.render_size, colorizer.chroma_gain) == (96, 1.25)


def test_settings_from_needs_export_and_a_readable_file(tmp_path):
    one_line_error(invoke("--settings-from", tmp_path / "a.json"), "--export-weights")
    preset = write_preset(tmp_path, max_steps=1, val_every=1, ckpt_every=1)
    assert invoke("--config", preset).exit_code == 0
    last = tmp_path / "runs" / "tiny-autoencoder" / "last.pt"
    (tmp_path / "bad.json").write_text("{not json")
    one_line_error(invoke("--export-weights", last, "--settings-from", tmp_path / "bad.json"), "bad.json")
    assert not last.with_suffix(".safetensors").exists()  # nothing written


@pytest.mark.parametrize("bad", ["missing", "junk"])
def test_export_bad_checkpoint(tmp_path, bad):
    path = tmp_path / "x.pt"
    if bad == "junk":
        path.write_bytes(b"junk")
    one_line_error(invoke("--export-weights", path), "x.pt")


@pytest.mark.parametrize("steps", [0, -3])
def test_no_steps_is_a_usage_error_and_writes_nothing(tmp_path, steps):
    preset = write_preset(tmp_path)
    one_line_error(invoke("--config", preset, "--max-steps", steps), "max_steps", "at least 1")
    one_line_error(invoke("--config", write_preset(tmp_path, max_steps=steps)), "max_steps", str(steps))
    assert not (tmp_path / "runs").exists()


def test_no_progress_bar_off_a_terminal(tmp_path):
    preset = write_preset(tmp_path, max_steps=2, val_every=2, ckpt_every=2, progress=True)
    result = subprocess.run(  # stderr a pipe, as in `deepcolor train ... | tail` (2>&1)
        [sys.executable, "-m", "deepcolor", "train", "--config", str(preset)],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr and "step/s" not in result.stderr and "s/step" not in result.stderr
    assert "step 2" in result.stderr  # the validation line still comes
