"""The shared batch runner: one line per bad item, exit codes, progress bar, input protection, options."""

from __future__ import annotations

import sys
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
        "processed 2 of 6 images; 4 failed",  # the summary (issue 9): not prefixed, so not read as an error
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
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # since issue 9, a bar needs a terminal
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
def copy_command(inputs, output, recursive, overwrite, max_pixels):
    """A tiny command built the documented way: copies images as PNG."""
    job = batch.Batch.from_cli(inputs, output, recursive=recursive, overwrite=overwrite)

    def process(it: InputItem) -> None:
        image = read_image(it.path, max_pixels)
        write_image(job.output_path(it, ".png"), image.rgb, alpha=image.alpha)

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
