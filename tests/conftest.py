"""Shared fixtures: small images made on the fly (the project ships no third-party images), the bad inputs a
command must survive, and the real-photo folder for `@pytest.mark.data` tests.

Fixtures (names are stable, teammates rely on them):
    rgb_image      (24, 32, 3) float32 smooth colourful image in [0, 1]
    gray_image     (24, 32) float32 grey image in [0, 1]
    image_file     factory: image_file("name.png", array=None, **pillow_save_kwargs) -> Path (saved by Pillow)
    bad_files      dict name -> Path of broken inputs (see `BAD_FILES`)
    mixed_folder   a folder with good and bad images: MixedFolder(path, good, bad)
    data_dir       ../shared/data (or $DEEPCOLOR_DATA); skips the test when absent
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]

# Skip reasons that mean "something the test command installs is missing" (pytest.importorskip's, and the
# tests' own for the [dev] extra's packages). CI (CI=true, as .ci/run sets) has all of them: there such a skip
# is a failure, so that a broken install cannot pass as a green run.
MISSING_DEPENDENCY = ("could not import", "is not installed")


def _fail_in_ci(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not report.skipped or os.environ.get("CI", "").lower() != "true":
        return
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
    if any(text in reason for text in MISSING_DEPENDENCY):
        report.outcome = "failed"
        report.longrepr = f"skipped, but CI must run it: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    _fail_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    outcome = yield  # a module-level pytest.importorskip skips the whole module at collection
    _fail_in_ci(outcome.get_result())


def data_root() -> Path:
    """$DEEPCOLOR_DATA, or <repo>/../shared/data."""
    return Path(os.environ.get("DEEPCOLOR_DATA", REPO_ROOT.parent / "shared" / "data"))


def make_rgb(height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1]: smooth hue and brightness ramps plus a little noise, so that every
    channel varies and neighbouring pixels correlate (as in photos)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    y /= max(height - 1, 1)
    x /= max(width - 1, 1)
    rgb = np.stack([x, 1.0 - 0.7 * y, 0.5 + 0.4 * np.sin(6.0 * x * y + 1.0) * (0.5 + 0.5 * y)], axis=-1)
    noise = np.random.default_rng(seed).normal(0.0, 0.02, rgb.shape).astype(np.float32)
    return np.clip(rgb * 0.9 + 0.05 + noise, 0.0, 1.0).astype(np.float32)


def grainy_grey_scan(height: int = 96, width: int = 128, grain: float = 14.0, seed: int = 0) -> np.ndarray:
    """(H, W) uint8: smooth shapes on a ramp (flat areas, as most photos have) under strong film-like grain,
    which `deepcolor.inference.grain` measures as grainy."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    smooth = 60 + 100 * x / width + 40 * ((x - 0.3 * width) ** 2 + (y - height / 2) ** 2 < (0.2 * width) ** 2)
    noise = np.random.default_rng(seed).normal(0, grain, smooth.shape)
    return np.clip(smooth + noise, 0, 255).astype(np.uint8)


def to_uint8(a: np.ndarray) -> np.ndarray:
    return np.round(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_with_header_size(width: int, height: int) -> bytes:
    """A valid-looking 8-bit RGB PNG whose IHDR claims `width` x `height` but whose data is tiny: a
    decompression bomb's header, for testing that the pixel limit is checked before decoding."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + png_chunk(b"IEND", b""))


# What each bad input is, as made by the `bad_files` fixture.
BAD_FILES = {
    "empty.jpg": "zero-byte file",
    "truncated.jpg": "a JPEG cut in half",
    "text.jpg": "a text file named .jpg",
    "huge.png": "a PNG whose header claims 60000 x 60000 pixels",
}


def write_bad_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in BAD_FILES}
    paths["empty.jpg"].write_bytes(b"")
    Image.fromarray(to_uint8(make_rgb(64, 64, seed=1))).save(folder / "whole.jpg", quality=90)
    data = (folder / "whole.jpg").read_bytes()
    (folder / "whole.jpg").unlink()
    paths["truncated.jpg"].write_bytes(data[: len(data) // 2])
    paths["text.jpg"].write_text("This is not a picture.\nJust some notes that someone named .jpg.\n")
    paths["huge.png"].write_bytes(png_with_header_size(60000, 60000))
    return paths


@pytest.fixture
def rgb_image() -> np.ndarray:
    return make_rgb()


@pytest.fixture
def gray_image() -> np.ndarray:
    return make_rgb()[..., 1].copy()


@pytest.fixture
def image_file(tmp_path: Path) -> Callable[..., Path]:
    """Factory: image_file(name, array=None, **save_kwargs) saves `array` with Pillow under tmp_path.

    `array` is float in [0, 1] ((H, W) grey, (H, W, 3) RGB, (H, W, 4) RGBA), an integer array, or a
    `PIL.Image.Image`; None means `make_rgb()`. Sub-folders in `name` are created.
    """

    def make(name: str, array: np.ndarray | Image.Image | None = None, **save_kwargs: object) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(array, Image.Image):
            im = array
        else:
            a = make_rgb() if array is None else np.asarray(array)
            im = Image.fromarray(to_uint8(a) if np.issubdtype(a.dtype, np.floating) else a)
        im.save(path, **save_kwargs)
        return path

    return make


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    """The broken inputs of `BAD_FILES`, written into tmp_path/bad."""
    return write_bad_files(tmp_path / "bad")


@dataclass
class MixedFolder:
    path: Path
    good: list[Path]
    bad: list[Path]


@pytest.fixture
def mixed_folder(tmp_path: Path) -> MixedFolder:
    """tmp_path/mixed with three good images (RGB PNG, JPEG, grey PNG) and the four `BAD_FILES`."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = [folder / "colour.png", folder / "photo.jpg", folder / "grey.png"]
    Image.fromarray(to_uint8(make_rgb(20, 30, seed=2))).save(good[0])
    Image.fromarray(to_uint8(make_rgb(30, 20, seed=3))).save(good[1], quality=92)
    Image.fromarray(to_uint8(make_rgb(16, 16, seed=4)[..., 0])).save(good[2])
    bad = list(write_bad_files(folder).values())
    return MixedFolder(folder, good, bad)


@pytest.fixture
def data_dir() -> Path:
    """The real-photo folder (read its README.md); the test is skipped when it is absent."""
    root = data_root()
    if not root.is_dir():
        pytest.skip(f"real-photo folder {root} not found (set DEEPCOLOR_DATA)")
    return root
