"""Images for the service tests, made on the fly, and a way to read a response back into pixels."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from deepcolor.io import LoadedImage, read_image


def grey_photo(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """(H, W) uint8: a gradient with a few blobs and some texture, so the model has something to colour."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    g = 40 + 150 * x / max(width - 1, 1) + 30 * np.sin(y / 5.0)
    for _ in range(3):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(4, 12)
        g += 50 * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
    g += rng.normal(0, 3, g.shape)
    return np.clip(g, 0, 255).astype(np.uint8)


def colour_photo(height: int = 48, width: int = 64, seed: int = 1) -> np.ndarray:
    """(H, W, 3) uint8 with real colour."""
    g = grey_photo(height, width, seed).astype(np.float32)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = g * (0.6 + 0.4 * x / width)
    b = g * (1.0 - 0.5 * y / height)
    return np.clip(np.stack([r, g, b], axis=2), 0, 255).astype(np.uint8)


def encode(array: np.ndarray | Image.Image, fmt: str = "PNG", **save: object) -> bytes:
    image = array if isinstance(array, Image.Image) else Image.fromarray(array)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def grey16_png(height: int = 40, width: int = 56) -> bytes:
    """A 16-bit grey PNG (mode I;16) with values that 8 bits cannot hold."""
    values = (
        grey_photo(height, width).astype(np.uint16) * 257 + np.arange(width, dtype=np.uint16)[None, :] * 3
    )
    return encode(Image.fromarray(values))


def rgba_png(height: int = 40, width: int = 56) -> bytes:
    rgb = colour_photo(height, width)
    alpha = np.tile(np.linspace(0, 255, width).astype(np.uint8), (height, 1))
    return encode(np.dstack([rgb, alpha]))


def decoded(data: bytes) -> LoadedImage:
    """A response body read back with the library's reader."""
    return read_image(data)


def files(data: bytes, name: str = "photo.png", field: str = "file") -> dict[str, tuple[str, bytes, str]]:
    return {field: (name, data, "application/octet-stream")}


# --------------------------------------------------------------------------------------- a real server


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`deepcolor serve` in a subprocess on a free loopback port; `stop()` sends SIGTERM."""

    def __init__(self, *args: str, startup_s: float = 120.0) -> None:
        import os
        import subprocess
        import sys
        import tempfile
        import time
        import urllib.request

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # the server's stderr (the test's file, not the server's)
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deepcolor", "serve", "--port", str(self.port), *args],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=env,
        )
        deadline = time.monotonic() + startup_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"deepcolor serve exited with {self.process.returncode}: {self.stderr()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError(
                    f"deepcolor serve did not answer within {startup_s:.0f} s: {self.stderr()}"
                )
            time.sleep(0.25)

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; the exit status (negative: the signal that ended it)."""
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except Exception:
            self.process.kill()
            raise
