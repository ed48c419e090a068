"""`--engine ray` from the command line: the local engine's bytes, lines, summary and exit code; the
manifest; Ctrl-C then ``--skip-existing``; and one run against a real cluster process (`ray start`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from tests.scale.conftest import import_ray, write_photos

from deepcolor.cli.main import cli as main
from deepcolor.scale.manifest import read_manifest

# Each test starts Ray workers (a model load each): seconds, not milliseconds.
pytestmark = pytest.mark.slow

TASKS = {
    "colorize": ["--saturation", "1.3"],
    "enhance": ["--strength", "0.5"],
    "decolorize": ["--method", "luma709", "--format", "jpg"],
}


def messages(stderr: str) -> list[str]:
    return sorted(line for line in stderr.splitlines() if line.startswith("deepcolor: "))


def summary(stderr: str) -> list[str]:
    """The lines that are not messages: the summary, the 'outputs exist' hint, decolorize's savings."""
    return [line for line in stderr.splitlines() if not line.startswith(("deepcolor: ", "["))]


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("task", list(TASKS))
def test_ray_engine_writes_the_local_engines_bytes(ray_address, tmp_path, monkeypatch, task):
    monkeypatch.chdir(tmp_path)
    write_photos(Path("in"), 3)
    write_photos(Path("in/sub"), 1, seed=3)
    Path("in/bad.png").write_bytes(b"GIF89a broken")
    Path("out_ray").mkdir()
    Path("out_ray/photo002.png" if task != "decolorize" else "out_ray/photo002.jpg").write_bytes(b"mine")
    Path("out_local").mkdir()
    Path("out_local/photo002.png" if task != "decolorize" else "out_local/photo002.jpg").write_bytes(b"mine")
    runs = {}
    for engine in ("local", "ray"):
        args = [task, "in", "-r", "-o", f"out_{engine}", "--engine", engine, "--manifest", f"{engine}.jsonl"]
        runs[engine] = CliRunner().invoke(main, args + TASKS[task] + (["--workers", "2"] * (engine == "ray")))
    local, ray = runs["local"], runs["ray"]
    assert ray.exit_code == local.exit_code == 1, ray.stderr
    assert files_of(Path("out_ray")) == files_of(Path("out_local"))  # names and bytes
    assert len(files_of(Path("out_ray"))) == 4
    assert messages(ray.stderr) == [m.replace("out_local", "out_ray") for m in messages(local.stderr)]
    assert summary(ray.stderr) == summary(local.stderr)
    assert f"{task}d 3 of 5 images; 2 failed" in summary(ray.stderr)
    rows = {e: sorted(read_manifest(f"{e}.jsonl"), key=lambda r: r["source"]) for e in ("local", "ray")}
    assert [(r["source"], r["status"]) for r in rows["ray"]] == [
        (r["source"], r["status"]) for r in rows["local"]
    ]
    assert [r["output"].replace("out_local", "out_ray") for r in rows["local"]] == [
        r["output"] for r in rows["ray"]
    ]
    assert {r["model"] for r in rows["ray"]} == {r["model"] for r in rows["local"]}
    existing = "out_ray/photo002.jpg" if task == "decolorize" else "out_ray/photo002.png"
    reasons = sorted(r["reason"] for r in rows["ray"] if r["status"] == "failed")
    assert [r.split(": ")[0] for r in reasons] == ["in/bad.png", existing]


def test_usage_errors(ray_address, tmp_path):
    write_photos(tmp_path / "in", 2)
    result = CliRunner().invoke(
        main,
        ["colorize", str(tmp_path / "in"), "-o", str(tmp_path / "o"), "--engine", "ray", "--hint", "1,1,red"],
    )
    assert result.exit_code == 2 and "--hint is for a single input; 2 were given" in result.stderr
    result = CliRunner().invoke(
        main, ["decolorize", str(tmp_path / "in"), "-o", str(tmp_path / "o"), "--workers", "0"]
    )
    assert result.exit_code == 2 and "--workers" in result.stderr
    result = CliRunner().invoke(
        main, ["decolorize", str(tmp_path / "in"), "-o", str(tmp_path / "o"), "--gpus-per-worker", "1"]
    )
    assert result.exit_code == 2 and "need --engine ray" in result.stderr


def deepcolor(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "deepcolor", *args], stderr=subprocess.PIPE, text=True, env=env, **kwargs
    )


def settle(folder: Path, quiet: float = 3.0, limit: float = 60.0) -> None:
    """Wait until nothing in `folder` has changed for `quiet` seconds."""
    deadline, last, since = time.monotonic() + limit, None, time.monotonic()
    while time.monotonic() < deadline:
        now = sorted(p.name for p in folder.iterdir())
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.2)


def test_ctrl_c_then_skip_existing(ray_address, tmp_path):
    photos = write_photos(tmp_path / "in", 24)
    out, manifest = tmp_path / "out", tmp_path / "run.jsonl"
    common = [
        "colorize",
        str(tmp_path / "in"),
        "-o",
        str(out),
        "--engine",
        "ray",
        "--ray-address",
        ray_address,
        "--batch-size",
        "1",
        "--manifest",
        str(manifest),
    ]
    run = deepcolor(*common)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not manifest.exists() or not manifest.read_text()):
        assert run.poll() is None, run.stderr.read()
        time.sleep(0.1)
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    assert "interrupted (Ctrl-C): colorized" in stderr
    first = list(read_manifest(manifest))
    settle(out)  # the cluster stops the interrupted run's workers a moment after its driver has gone
    assert 1 <= len(first) < 24 and {r["status"] for r in first} == {"ok"}
    written = sorted(p.name for p in out.iterdir())
    assert not [name for name in written if name.endswith(".tmp")], written  # nothing partial
    for name in written:
        with Image.open(out / name) as im:
            im.load()  # whole
    assert {Path(r["output"]).name for r in first} <= set(written)

    again = deepcolor(*common, "--skip-existing")
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    done = 24 - len(written)
    assert f"colorized {done} of 24 images; {len(written)} skipped" in stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in photos)  # each once
    rows = list(read_manifest(manifest))[len(first) :]
    assert sorted(r["status"] for r in rows) == sorted(["ok"] * done + ["skipped"] * len(written))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.distributed
def test_against_a_real_cluster_process(ray_address, tmp_path):
    """`ray start --head` on 127.0.0.1 in a temporary folder, `--ray-address` to it. It runs in the
    foreground (--block) and is stopped with SIGTERM, which stops its own processes: `ray stop` would also
    stop every other Ray of this user on the machine (the test run's own, a benchmark's)."""
    ray = import_ray()
    ray_bin = Path(sys.executable).with_name("ray")
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="dcray"))  # short: Ray's socket paths must fit 107 characters
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        [
            str(ray_bin),
            "start",
            "--head",
            f"--port={port}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=1",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={folder}",
            "--block",
        ],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert head.poll() is None and time.monotonic() < deadline, "ray start did not come up"
            time.sleep(0.2)
        write_photos(tmp_path / "in", 3)
        run = deepcolor(
            "colorize",
            str(tmp_path / "in"),
            "-o",
            str(tmp_path / "out"),
            "--engine",
            "ray",
            "--ray-address",
            f"127.0.0.1:{port}",
            "--manifest",
            str(tmp_path / "m.jsonl"),
            cwd=folder,
        )
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
        assert "colorized 3 images" in stderr
        rows = list(read_manifest(tmp_path / "m.jsonl"))
        assert [r["status"] for r in rows] == ["ok"] * 3
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"photo00{i}.png" for i in range(3)]
    finally:
        head.send_signal(signal.SIGTERM)
        head.wait(timeout=60)
    assert ray.is_initialized()  # the test run's own Ray was left alone
    assert json.dumps(rows)
