"""The `deepcolor` group: --help and usage errors answer without importing torch; Ctrl-C is exit 130."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from deepcolor.cli.main import COMMANDS, cli

# Runs in a fresh interpreter: each argv through the real group, then whether torch got imported.
PROBE = """
import json, sys
from click.testing import CliRunner
from deepcolor.cli.main import cli

results = []
for argv in json.loads(sys.argv[1]):
    result = CliRunner().invoke(cli, argv)
    results.append([argv, result.exit_code, result.output[:300], "torch" in sys.modules])
print(json.dumps(results))
"""


def probe(argvs: list[list[str]]) -> list[tuple[list[str], int, str, bool]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argvs)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return [tuple(row) for row in json.loads(proc.stdout)]


def test_help_of_every_command_does_not_import_torch():
    for argv, code, output, torch_loaded in probe([[]] + [[name, "--help"] for name in COMMANDS]):
        assert code in (0, 2) and "Usage:" in output, (argv, output)  # the group alone prints usage, exit 2
        assert not torch_loaded, f"deepcolor {' '.join(argv)} imported torch"


def test_usage_errors_do_not_import_torch(tmp_path):
    image = str(tmp_path / "x.png")
    out = str(tmp_path / "out")
    cases = [
        ["colorize", image],  # no -o
        ["colorize", image, "-o", out, "--device", "tpu"],
        ["colorize", image, "-o", out, "--device", "cuda:x"],
        ["enhance", image, "-o", out, "--device", "tpu"],
        ["demo", "-o", out, "--device", "tpu"],
        ["evaluate", "-d", str(tmp_path), "--device", "tpu"],
        ["colorize", "", "-o", out],
        ["decolorize", image, "-o", ""],
        ["convert", image, "-o", out, "--space", "cmyk"],
        ["evaluate", "-d", ""],
        ["evaluate", "-d", str(tmp_path), "-o", ""],
    ]
    for argv, code, output, torch_loaded in probe(cases):
        assert code == 2, (argv, output)
        assert not torch_loaded, f"deepcolor {' '.join(argv)} imported torch"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("device", ["tpu", "cuda:x"])
def test_an_unknown_device_is_one_usage_line(tmp_path, device):
    result = CliRunner().invoke(
        cli, ["colorize", str(tmp_path), "-o", str(tmp_path / "o"), "--device", device]
    )
    assert result.exit_code == 2
    assert (
        f"Invalid value for '--device': unknown device '{device}' (use one of: auto, cpu, cuda"
        in result.stderr
    )
    assert "Traceback" not in result.output


def test_ctrl_c_in_any_command_is_exit_130(monkeypatch):
    import deepcolor.cli.info as info

    def interrupted() -> list[tuple[str, str]]:
        raise KeyboardInterrupt

    monkeypatch.setattr(info, "collect", interrupted)
    result = CliRunner().invoke(cli, ["info"])
    assert result.exit_code == 130  # click alone: "Aborted!", exit 1
    assert result.stderr == "interrupted (Ctrl-C)\n"


def test_spelled_out_choices_match_the_library():
    # The command modules spell these out so that --help need not import the torch modules holding them.
    from deepcolor import color, evaluate
    from deepcolor.cli import colorize, convert, enhance
    from deepcolor.cli import evaluate as cli_evaluate
    from deepcolor.inference import pipeline

    enhance_lib = importlib.import_module("deepcolor.inference.enhance")  # the package's `enhance` is the API

    assert colorize.BACKENDS == pipeline.BACKENDS
    assert (enhance.DEFAULT_STRENGTH, enhance.DEFAULT_CLAHE_LIMIT) == (
        enhance_lib.DEFAULT_STRENGTH,
        enhance_lib.DEFAULT_CLAHE_LIMIT,
    )
    assert convert.GRAY_METHODS == color.GRAY_METHODS
    assert cli_evaluate.DEFAULT_SHEET_COUNT == evaluate.DEFAULT_SHEET_COUNT
