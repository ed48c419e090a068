"""A 2-process DDP run on the CPU (gloo), started by torchrun exactly as a user would."""

import os
import subprocess
import sys

import pytest

from deepcolor.models.checkpoint import read_checkpoint
from train.helpers import loss_rows, write_preset


@pytest.mark.distributed
@pytest.mark.slow
def test_two_process_ddp_run(tmp_path):
    # the gan: two DDP-wrapped modules, the switch from L1-only to adversarial at step 1
    preset = write_preset(
        tmp_path, "gan", max_steps=3, pretrain_steps=1, ckpt_every=3, val_every=3, sample_every=3
    )
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "deepcolor",
        "train",
        "--config",
        str(preset),
        "--run-name",
        "ddp",
    ]
    # faulthandler: a rank killed by a signal prints its threads' Python stacks. torchrun's closing summary
    # takes about 2,000 characters and only names the signal, so the message keeps more than that.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-8000:]
    assert "2 process(es) on cpu" in done.stderr
    assert done.stderr.count("deepcolor: done") == 1  # only rank 0 reports
    run_dir = tmp_path / "runs" / "ddp"
    ckpt = read_checkpoint(run_dir / "last.pt")
    assert ckpt["world_size"] == 2 and len(ckpt["ranks"]) == 2 and ckpt["step"] == 3
    # every rank read 3 batches of 4 from its own half of the shuffled records
    cursors = [r["data"]["positions"][0] for r in ckpt["ranks"]]
    assert cursors[0][1] >= 12 and cursors[1][1] >= 12
    assert ckpt["ranks"][0]["rng"]["torch"] is not None
    assert not any(k.startswith("module.") for k in ckpt["model"])  # the unwrapped model is saved
    assert [s for s, _ in loss_rows(run_dir)] == [1, 2, 3]


@pytest.mark.parametrize(
    ("code", "want_rc", "want_err"),
    [(0, 0, ""), (None, 0, ""), (3, 3, ""), ("bad config", 1, "bad config\n")],
)
def test_exit_worker_flushes_and_keeps_the_exit_code(code, want_rc, want_err):
    # output written just before must survive os._exit, and torchrun must see the code sys.exit was given
    script = (
        "import sys\n"
        "from deepcolor.train.distributed import exit_worker\n"
        "sys.stdout.write('saved')\n"
        "sys.stderr.write('note ')\n"
        "import atexit; atexit.register(lambda: print('teardown ran'))\n"
        f"exit_worker({code!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == want_rc
    assert done.stdout == "saved"  # flushed, and the interpreter's teardown (atexit) skipped
    assert done.stderr == "note " + want_err
