"""`deepcolor info` and the command table."""

from __future__ import annotations

import platform

import torch
from click.testing import CliRunner

import deepcolor
from deepcolor.cli.info import command
from deepcolor.cli.main import cli


def test_info_reports_versions_threads_and_device():
    result = CliRunner().invoke(command, [])
    assert result.exit_code == 0, result.output
    rows = {line.split("  ", 1)[0]: line.split("  ", 1)[1].strip() for line in result.stdout.splitlines()}
    assert rows["deepcolor"] == deepcolor.__version__
    assert rows["Python"].startswith(platform.python_version())
    assert rows["PyTorch"].startswith(torch.__version__)
    assert rows["torch threads"].startswith(f"{torch.get_num_threads()} intra-op")
    assert rows["device"].startswith("cuda" if torch.cuda.is_available() else "cpu")
    assert "onnxruntime" in rows


def test_info_and_convert_are_in_the_command_table():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "convert" in result.output and "info" in result.output
    assert CliRunner().invoke(cli, ["info"]).exit_code == 0
    assert CliRunner().invoke(cli, ["convert", "--help"]).exit_code == 0
