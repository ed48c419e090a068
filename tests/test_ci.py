"""In CI (CI=true) a test skipped because something the test command installs is missing fails instead."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROBE = '''
import pytest


def test_needs_a_module():
    pytest.importorskip("deepcolor_no_such_module")


def test_needs_data():
    pytest.skip("no BSD100 photos")
'''


def _run(tmp_path: Path, ci: bool) -> str:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": "true"} if ci else {})
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_probe.py"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    return done.stdout.strip().splitlines()[-1]


def test_a_missing_dependency_is_a_skip_locally_and_a_failure_in_ci(tmp_path):
    assert _run(tmp_path, ci=False).startswith("2 skipped in")
    summary = _run(tmp_path, ci=True)
    assert summary.startswith("1 failed, 1 skipped"), summary  # the data skip stays a skip
