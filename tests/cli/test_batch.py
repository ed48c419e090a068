"""The shared batch runner: one line per bad item, exit codes, progress bar, input protection, options."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from deepcolor.cli import batch
from deepcolor.io import ImageError, ImageWarning, InputItem, read_image, write_image


def item(name: str, error: str | None = None) -> InputItem:
    return InputItem(path=Path(name), stem=Path(Path(name).stem), error=error)


def message_lines(stderr: str) -> list[str]:
    """The lines a user reads: the text after the last carriage return (the bar redraws with \\r)."""
    return [line.rsplit("\r", 1)[-1] for line in stderr.split("\n") if "deepcolor: " in line]


def test_each_bad_item_is_one_line_and_the_batch_carries_on(capsys):
    done = []

    def process(it: InputItem) -> None:
        if it.path.name == "image-error.png":
            raise ImageError(it.path, "truncated or corrupt image data")
        if it.path.name == "value-error.png":
            raise ValueError("expected an RGB image\nwith three channels")
        if it.path.name == "os-error.png":
            raise OSError(13, "Permission denied", "out/os-error.png")
        done.append(it.path.name)

    items = [
        item("a.png"),
        item("missing.png", "no such file or folder"),
        item("image-error.png"),
        item("value-error.png"),
        item("os-error.png"),
        item("b.png"),
    ]
    assert batch.run_batch(items, process, progress=False) == 1
    assert done == ["a.png", "b.png"]
    assert capsys.readouterr().err.splitlines() == [
        "deepcolor: missing.png: no such file or folder",
        "deepcolor: image-error.png: truncated or corrupt image data",
        "deepcolor: value-error.png: expected an RGB image with three channels",
        "deepcolor: out/os-error.png: Permission denied",
        "processed 2 of 6 images; 4 failed",  # the summary: not prefixed, so not read as an error
    ]


def test_all_good_is_exit_0_and_says_only_how_many(capsys):
    assert batch.run_batch([item("a.png")], lambda it: None, progress=False) == 0
    assert capsys.readouterr() == ("", "")  # one image: nothing to say
    assert batch.run_batch([item("a.png"), item("b.png")], lambda it: None, desc="colorize") == 0
    assert capsys.readouterr() == ("", "colorized 2 images\n")


def test_a_bug_is_not_swallowed():
    def process(it: InputItem) -> None:
        raise RuntimeError("a bug in our code")

    with pytest.raises(RuntimeError, match="a bug"):
        batch.run_batch([item("a.png")], process)


def test_image_warnings_are_printed_on_one_line(capsys):
    def process(it: InputItem) -> None:
        warnings.warn(f"{it.path}: has 3 frames; reading the first", ImageWarning, stacklevel=1)

    assert batch.run_batch([item("anim.gif")], process) == 0
    assert capsys.readouterr().err == "deepcolor: warning: anim.gif: has 3 frames; reading the first\n"


def test_progress_bar_only_for_more_than_one_item(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a bar needs a terminal
    batch.run_batch([item("a.png")], lambda it: None)
    assert capsys.readouterr().err == ""
    batch.run_batch([item("a.png"), item("b.png", "no such file or folder")], lambda it: None, desc="test")
    err = capsys.readouterr().err
    assert "test:" in err and "image" in err  # tqdm's bar: "test: 50%|... 1/2 [..., image/s]"
    assert message_lines(err) == ["deepcolor: b.png: no such file or folder"]


def test_output_path_refuses_to_write_over_an_input(tmp_path):
    (tmp_path / "x_lab.png").write_bytes(b"x")
    (tmp_path / "x.png").write_bytes(b"x")
    job = batch.Batch.from_cli([tmp_path / "x.png", tmp_path / "x_lab.png"], tmp_path)
    x = job.items[0]
    with pytest.raises(ImageError, match=r"x_lab\.png: is an input file; pass --overwrite to write over it"):
        job.output_path(x, "_lab.png")
    assert job.output_path(x, "_hsv.png") == tmp_path / "x_hsv.png"
    allowed = batch.Batch.from_cli([tmp_path / "x.png", tmp_path / "x_lab.png"], tmp_path, overwrite=True)
    assert allowed.output_path(allowed.items[0], "_lab.png") == tmp_path / "x_lab.png"


def test_check_not_input(tmp_path):
    with pytest.raises(ImageError, match="is an input file"):
        batch.check_not_input(tmp_path / "a" / ".." / "x.png", [tmp_path / "x.png"], overwrite=False)
    batch.check_not_input(tmp_path / "x.png", [tmp_path / "x.png"], overwrite=True)
    batch.check_not_input(tmp_path / "y.png", [tmp_path / "x.png"], overwrite=False)


@click.command()
@batch.image_options
def copy_command(inputs, output, recursive, overwrite, skip_existing, max_pixels):
    """A tiny command built the documented way: copies images as PNG."""
    job = batch.Batch.from_cli(
        inputs,
        output,
        recursive=recursive,
        overwrite=overwrite,
        skip_existing=skip_existing,
        output_suffixes=lambda path: [".png"],
    )

    def process(it: InputItem) -> None:
        out = job.output_path(it, ".png")
        image = read_image(it.path, max_pixels)
        write_image(out, image.rgb, alpha=image.alpha)

    sys.exit(job.run(process, desc="copy"))


def test_command_pattern_on_a_mixed_folder(mixed_folder, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(copy_command, [str(mixed_folder.path), "-o", str(out)])
    assert result.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["colour.png", "grey.png", "photo.png"]
    lines = message_lines(result.stderr)
    assert len(lines) == len(mixed_folder.bad)
    for bad in mixed_folder.bad:
        assert sum(line.startswith(f"deepcolor: {bad}: ") for line in lines) == 1


def test_usage_errors_exit_2(tmp_path, mixed_folder):
    runner = CliRunner()
    assert runner.invoke(copy_command, ["-o", str(tmp_path)]).exit_code == 2  # no INPUT
    assert runner.invoke(copy_command, [str(mixed_folder.good[0])]).exit_code == 2  # no -o
    (tmp_path / "afile").write_bytes(b"")
    result = runner.invoke(copy_command, [str(mixed_folder.good[0]), "-o", str(tmp_path / "afile")])
    assert result.exit_code == 2 and "is a file" in result.stderr
    result = runner.invoke(copy_command, [str(mixed_folder.good[0]), "-o", str(tmp_path), "--max-pixels=0"])
    assert result.exit_code == 2


def test_max_pixels_option(tmp_path, mixed_folder):
    result = CliRunner().invoke(
        copy_command, [str(mixed_folder.good[0]), "-o", str(tmp_path / "o"), "--max-pixels", "100"]
    )
    assert result.exit_code == 1
    assert message_lines(result.stderr) == [
        f"deepcolor: {mixed_folder.good[0]}: 30 x 20 pixels (600 pixels) is over the limit of 100 pixels"
    ]


def test_missing_inputs_exit_1_not_a_crash(tmp_path):
    write_image(tmp_path / "ok.png", np.zeros((2, 2)))
    result = CliRunner().invoke(
        copy_command, [str(tmp_path / "ok.png"), str(tmp_path / "nope.jpg"), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert message_lines(result.stderr) == [f"deepcolor: {tmp_path / 'nope.jpg'}: no such file or folder"]
    assert (tmp_path / "out" / "ok.png").exists()


def test_input_never_overwritten_without_the_flag(tmp_path):
    src = write_image(tmp_path / "a.png", np.full((2, 2), 0.25))
    before = src.read_bytes()
    result = CliRunner().invoke(copy_command, [str(src), "-o", str(tmp_path)])
    assert result.exit_code == 1 and "is an input file; pass --overwrite" in result.stderr
    assert src.read_bytes() == before
    assert CliRunner().invoke(copy_command, [str(src), "-o", str(tmp_path), "--overwrite"]).exit_code == 0


# ------------------------------------------------------------------------------------- what a new user hit


def good_images(folder: Path, *names: str) -> list[Path]:
    return [write_image(folder / name, np.full((2, 3), 0.5)) for name in names]


def test_summary_line_counts_images_and_failures(capsys):
    items = [item(f"{i:02d}.png") for i in range(18)] + [
        item("x.png", "no such file or folder"),
        item("y.png"),
    ]

    def process(it: InputItem) -> None:
        if it.path.name == "y.png":
            raise ImageError(it.path, "truncated or corrupt image data")

    assert batch.run_batch(items, process, desc="colorize") == 1
    assert capsys.readouterr().err.splitlines()[-1] == "colorized 18 of 20 images; 2 failed"


@pytest.mark.parametrize(
    ("verb", "past"),
    [("colorize", "colorized"), ("convert", "converted"), ("copy", "copied"), ("play", "played")],
)
def test_past_tense(verb, past):
    assert batch.past_tense(verb) == past


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    batch.run_batch([item("a.png"), item("b.png")], lambda it: None, desc="test")
    assert capsys.readouterr().err == "tested 2 images\n"  # no bar, no carriage returns


def test_warnings_say_warning_and_errors_do_not(capsys):
    def process(it: InputItem) -> None:
        batch.echo_warning(f"{it.path}: colour input; decolorized first")
        raise ImageError(it.path, "truncated or corrupt image data")

    batch.run_batch([item("a.png")], process)
    assert capsys.readouterr().err.splitlines() == [
        "deepcolor: warning: a.png: colour input; decolorized first",
        "deepcolor: a.png: truncated or corrupt image data",
    ]


def test_an_existing_output_is_left_alone_unless_overwrite(tmp_path):
    src = good_images(tmp_path / "in", "a.png", "b.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"someone's file")
    result = CliRunner().invoke(copy_command, [str(tmp_path / "in"), "-o", str(out)])
    assert result.exit_code == 1
    assert message_lines(result.stderr) == [
        f"deepcolor: {out / 'a.png'}: exists; pass --overwrite to replace it"
    ]
    assert result.stderr.splitlines()[-2:] == [
        "copied 1 of 2 images; 1 failed",
        "1 output exists already: pass --skip-existing to leave those inputs alone, or --overwrite to "
        "replace them",
    ]
    assert (out / "a.png").read_bytes() == b"someone's file"
    assert read_image(out / "b.png").rgb.shape == (2, 3, 3)
    result = CliRunner().invoke(copy_command, [*map(str, src), "-o", str(out), "--overwrite"])
    assert result.exit_code == 0, result.stderr
    assert read_image(out / "a.png").rgb.shape == (2, 3, 3)


@pytest.mark.parametrize(
    "args", [["", "-o", "OUT"], ["IN", "-o", ""], ["IN", "", "-o", "OUT"], ["IN", "--output="]]
)
def test_empty_input_or_outdir_is_a_usage_error(tmp_path, monkeypatch, args):
    good_images(tmp_path / "cwd", "here.png")
    monkeypatch.chdir(tmp_path / "cwd")
    good_images(tmp_path, "in.png")
    argv = [{"IN": str(tmp_path / "in.png"), "OUT": str(tmp_path / "out")}.get(a, a) for a in args]
    result = CliRunner().invoke(copy_command, argv)
    assert result.exit_code == 2, result.output
    assert "empty" in result.stderr and "write . for that" in result.stderr
    assert sorted(p.name for p in (tmp_path / "cwd").iterdir()) == ["here.png"]  # nothing written here
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("recursive", [False, True])
def test_a_symlink_loop_beside_good_files(tmp_path, recursive):
    good_images(tmp_path / "in", "a.png", "b.png")
    (tmp_path / "in" / "l1.png").symlink_to("l2.png")
    (tmp_path / "in" / "l2.png").symlink_to("l1.png")
    argv = [str(tmp_path / "in"), "-o", str(tmp_path / "out")] + (["-r"] if recursive else [])
    result = CliRunner().invoke(copy_command, argv)
    assert result.exit_code == 1
    assert message_lines(result.stderr) == [
        f"deepcolor: {tmp_path / 'in' / name}: cannot read: symbolic link loop"
        for name in ("l1.png", "l2.png")
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]


def test_a_folder_linking_to_itself_is_read_once_with_a_warning(tmp_path):
    good_images(tmp_path / "in", "a.png", "sub/b.png")
    (tmp_path / "in" / "self").symlink_to(".")
    result = CliRunner().invoke(copy_command, [str(tmp_path / "in"), "-r", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr  # only a loop was skipped
    link = tmp_path / "in" / "self"
    assert message_lines(result.stderr) == [
        f"deepcolor: warning: {link}: links back to a folder being read; not followed again"
    ]
    assert result.stderr.splitlines()[-1] == "copied 2 images"
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png")) == [
        "a.png",
        "sub/b.png",
    ]


def test_a_file_in_a_folder_one_cannot_enter(tmp_path, monkeypatch):
    # Tests run as root here, and root enters every folder: the refusal is simulated where the system gives
    # it (os.stat of a path below a folder without search permission raises EACCES).
    good_images(tmp_path, "ok.png", "locked/f.png", "z.png")
    real_stat = os.stat
    locked = str(tmp_path / "locked") + os.sep

    def stat(path, *args, **kwargs):
        if os.fspath(path).startswith(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    files = [str(tmp_path / name) for name in ("ok.png", "locked/f.png", "z.png")]
    result = CliRunner().invoke(copy_command, [*files, "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert message_lines(result.stderr) == [f"deepcolor: {files[1]}: cannot read: permission denied"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ok.png", "z.png"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root enters every folder (the simulated test covers it)")
def test_a_file_in_a_folder_one_cannot_enter_for_real(tmp_path):
    good_images(tmp_path, "ok.png", "locked/f.png")
    (tmp_path / "locked").chmod(0o600)  # readable, not enterable
    try:
        files = [str(tmp_path / "locked" / "f.png"), str(tmp_path / "ok.png")]
        result = CliRunner().invoke(copy_command, [*files, "-o", str(tmp_path / "out")])
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert result.exit_code == 1
    assert message_lines(result.stderr) == [f"deepcolor: {files[0]}: cannot read: permission denied"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["ok.png"]


def test_the_device_option_refuses_unknown_devices():
    @click.command()
    @click.option("--device", default="auto", callback=batch.check_device)
    def show(device):
        click.echo(device)

    assert CliRunner().invoke(show, ["--device", "cuda:1"]).output == "cuda:1\n"
    for bad in ("tpu", "cuda:x"):
        result = CliRunner().invoke(show, ["--device", bad])
        assert result.exit_code == 2 and f"unknown device '{bad}'" in result.stderr


# A batch whose second write stops half-way until a signal comes: run as a real process, sent a real signal.
SLOW_BATCH = """
import signal, sys, time
import click
from deepcolor.cli import batch
from deepcolor.io import atomic_write

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if started in background

@click.command()
@batch.image_options
def command(inputs, output, recursive, overwrite, skip_existing, max_pixels):
    job = batch.Batch.from_cli(inputs, output)

    def process(item):
        with atomic_write(job.output_path(item, ".txt")) as f:  # a whole first file of the item
            f.write(item.stem.name.encode())
        with atomic_write(job.output_path(item, ".png")) as f:
            f.write(b"the first half")
            if item.stem.name == "b":
                print("writing", flush=True)
                time.sleep(60)
            f.write(b" and the second half")

    sys.exit(job.run(process, desc="copy"))

command()
"""


@pytest.mark.parametrize(
    ("sig", "code", "line"),
    [
        (signal.SIGINT, 130, "interrupted (Ctrl-C): copied 1 of 3 images"),
        (signal.SIGTERM, 143, "terminated (SIGTERM): copied 1 of 3 images"),
    ],
)
def test_a_signal_mid_write_leaves_nothing_partial(tmp_path, sig, code, line):
    inputs = good_images(tmp_path / "in", "a.png", "b.png", "c.png")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_BATCH, *map(str, inputs), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline() == "writing\n"
        assert (out / "b.txt").is_file()
        assert [p.name for p in out.iterdir() if p.name.startswith(".b.png.")]  # the temp file, half written
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == code, stderr
    assert stderr.splitlines() == [line]
    # nothing of b: no b.png, no hidden .b.png.*.tmp, and not its whole first file b.txt either
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "a.txt"]
    assert (out / "a.png").read_bytes() == b"the first half and the second half"


def test_sigterm_in_a_real_command_leaves_no_temp_file(tmp_path):
    inputs = good_images(tmp_path / "in", *(f"{i:03d}.png" for i in range(300)))
    out = tmp_path / "out"
    argv = [
        sys.executable,
        "-m",
        "deepcolor",
        "decolorize",
        str(tmp_path / "in"),
        "-o",
        str(out),
        "--method",
        "luma601",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out.is_dir() and any(out.glob("*.png"))):  # signal handler installed, writing under way
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert "terminated (SIGTERM): decolorized" in stderr
    written = sorted(out.iterdir())
    assert [p.name for p in written if p.name.startswith(".")] == []
    assert 0 < len(written) < len(inputs)
    assert all(read_image(p).rgb.shape == (2, 3, 3) for p in written)  # each one whole


def test_a_sigterm_the_process_ignores_stays_ignored():
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        seen = []
        batch.run_batch([item("a.png")], lambda it: seen.append(signal.getsignal(signal.SIGTERM)))
        assert seen == [signal.SIG_IGN] and signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_skip_existing_counts_the_outputs_already_there_and_exits_0(tmp_path):
    good_images(tmp_path / "in", *(f"{i:02d}.png" for i in range(5)))
    out = tmp_path / "out"
    out.mkdir()
    for name in ("00.png", "02.png", "03.png"):  # a batch cut short by Ctrl-C, or someone's files
        (out / name).write_bytes(b"there before")
    result = CliRunner().invoke(copy_command, [str(tmp_path / "in"), "-o", str(out), "--skip-existing"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == ["copied 2 of 5 images; 3 skipped"]
    assert all((out / name).read_bytes() == b"there before" for name in ("00.png", "02.png", "03.png"))
    assert read_image(out / "01.png").rgb.shape == (2, 3, 3) and (out / "04.png").is_file()
    again = CliRunner().invoke(copy_command, [str(tmp_path / "in"), "-o", str(out), "--skip-existing"])
    assert again.exit_code == 0 and again.stderr.splitlines() == ["copied 0 of 5 images; 5 skipped"]


def test_skip_existing_and_overwrite_exclude_each_other(tmp_path):
    src = good_images(tmp_path / "in", "a.png")
    result = CliRunner().invoke(
        copy_command, [str(src[0]), "-o", str(tmp_path / "o"), "--skip-existing", "--overwrite"]
    )
    assert result.exit_code == 2 and "--overwrite and --skip-existing exclude each other" in result.stderr


def test_skipped_and_failed_are_counted_apart(capsys):
    def process(it: InputItem) -> None:
        if it.path.name == "s.png":
            raise batch.Skipped("out/s.png: exists; skipped")
        if it.path.name == "f.png":
            raise ImageError(it.path, "truncated or corrupt image data")

    results = []
    items = [item("a.png"), item("s.png"), item("f.png")]
    assert batch.run_batch(items, process, desc="colorize", on_result=results.append) == 1
    assert capsys.readouterr().err.splitlines() == [
        "deepcolor: f.png: truncated or corrupt image data",
        "colorized 1 of 3 images; 1 skipped, 1 failed",
    ]
    assert [(r.source.name, r.status, r.reason) for r in results] == [
        ("a.png", "ok", None),
        ("s.png", "skipped", "out/s.png: exists; skipped"),
        ("f.png", "failed", "f.png: truncated or corrupt image data"),
    ]


def test_outdir_that_is_no_folder_is_one_accurate_line(tmp_path):
    src = good_images(tmp_path / "in", "a.png")
    result = CliRunner().invoke(copy_command, [str(src[0]), "-o", "/dev/null"])
    assert result.exit_code == 2
    assert "/dev/null: is a character device, not a folder" in result.stderr
    assert "File exists" not in result.stderr


def test_outputs_in_the_input_folder_are_not_inputs_of_the_next_run(tmp_path):
    folder = tmp_path / "photos"
    write_image(folder / "camera.jpg", np.full((2, 3), 0.5))
    write_image(folder / "moon.png", np.full((2, 3), 0.25))
    first = CliRunner().invoke(copy_command, [str(folder), "-o", str(folder)])
    assert first.exit_code == 1  # moon.png onto itself: an input, refused
    assert sorted(p.name for p in folder.iterdir()) == ["camera.jpg", "camera.png", "moon.png"]
    for _ in range(2):  # camera.png is camera.jpg's output, not a new input: no camera_png.png drift
        again = CliRunner().invoke(copy_command, [str(folder), "-o", str(folder)])
        assert again.exit_code == 1
        lines = message_lines(again.stderr)
        assert f"deepcolor: {folder / 'camera.png'}: exists; pass --overwrite to replace it" in lines
        assert lines[0].startswith("deepcolor: warning: 1 file under the output folder is what this run")
        assert sorted(p.name for p in folder.iterdir()) == ["camera.jpg", "camera.png", "moon.png"]
    skipping = CliRunner().invoke(copy_command, [str(folder), "-o", str(folder), "--skip-existing"])
    assert "copied 0 of 2 images; 1 skipped, 1 failed" in skipping.stderr  # moon.png: still its own input


def test_a_name_with_a_newline_is_shown_as_the_shell_shows_it(tmp_path):
    bad = tmp_path / "in" / "a\nb.png"
    bad.parent.mkdir()
    bad.write_bytes(b"not an image")
    good_images(tmp_path / "in", "c.png")
    result = CliRunner().invoke(copy_command, [str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    lines = message_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith(f"deepcolor: $'{tmp_path}/in/a\\nb.png': ")


def test_an_interrupted_item_never_removes_a_file_another_process_finished(tmp_path):
    (job_item,) = items = [InputItem(path=tmp_path / "a.png", stem=Path("a"))]
    job = batch.Batch(items=items, outdir=tmp_path / "out")

    def process(it: InputItem) -> None:
        out = job.output_path(it, ".png")  # not there yet
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"the other run's finished output")  # a faster run of the same command
        raise KeyboardInterrupt  # then Ctrl-C here

    with pytest.raises(SystemExit) as stop:
        job.run(process, desc="copy")
    assert stop.value.code == 130
    assert (tmp_path / "out" / "a.png").read_bytes() == b"the other run's finished output"


# One output per input, whose write blocks half-way when SLOW is set: two runs of it race on one output.
RACING_BATCH = """
import os, signal, sys, time
import click
from deepcolor.cli import batch
from deepcolor.io import atomic_write

signal.signal(signal.SIGINT, signal.default_int_handler)

@click.command()
@batch.image_options
def command(inputs, output, **options):
    job = batch.Batch.from_cli(inputs, output)

    def process(item):
        with atomic_write(job.output_path(item, ".png"), overwrite=False) as f:
            f.write(b"written by " + os.environ["WHO"].encode())
            if os.environ["WHO"] == "slow":
                print("writing", flush=True)
                time.sleep(60)

    sys.exit(job.run(process, desc="copy"))

command()
"""


def test_two_runs_on_one_output_the_slow_ones_ctrl_c_keeps_the_fast_ones_file(tmp_path):
    (source,) = good_images(tmp_path / "in", "a.png")
    out = tmp_path / "out"
    argv = [sys.executable, "-c", RACING_BATCH, str(source), "-o", str(out)]
    slow = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "WHO": "slow"}
    )
    try:
        assert slow.stdout.readline() == "writing\n"
        fast = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "WHO": "fast"})
        assert fast.returncode == 0, fast.stderr
        slow.send_signal(signal.SIGINT)
        _, stderr = slow.communicate(timeout=30)
    finally:
        slow.kill()
    assert slow.returncode == 130, stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]  # no temp file left either
    assert (out / "a.png").read_bytes() == b"written by fast"


def test_a_chunked_step_writes_per_item_and_a_chunk_that_fails_whole_is_tried_item_by_item(capsys):
    calls, written = [], []

    def infer(values: list[str]) -> list[object]:
        calls.append(list(values))
        if len(values) > 1 and "big" in values:
            raise MemoryError  # the chunk does not fit; each image alone does, but for "big"
        if values == ["big"]:
            raise MemoryError
        return [value.upper() for value in values]

    step = batch.Chunked(
        prepare=lambda it: it.path.stem,
        infer=infer,
        finish=lambda it, prepared, result: written.append(result),
        size=3,
    )
    results = []
    items = [item(f"{name}.png") for name in ("a", "big", "c", "d")]
    assert batch.run_batch(items, step, desc="colorize", on_result=results.append) == 1
    assert calls == [["a", "big", "c"], ["a"], ["big"], ["c"], ["d"]]
    assert written == ["A", "C", "D"]
    assert capsys.readouterr().err.splitlines() == [
        "deepcolor: big.png: not enough memory",
        "colorized 3 of 4 images; 1 failed",
    ]
    assert [(r.source.name, r.status) for r in results] == [
        ("a.png", "ok"),
        ("big.png", "failed"),
        ("c.png", "ok"),
        ("d.png", "ok"),
    ]
