"""What `deepcolor serve` is configured with: one typed dataclass, filled by the command line or by tests."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

MB = 1 << 20
# Non-file form fields (hints JSON, numbers) are small; this bounds them separately from the images.
MAX_FIELD_BYTES = 1 * MB
MAX_PARTS = 16
# Render sizes the API accepts: the command line's range (`deepcolor colorize --render-size`).
RENDER_SIZE_RANGE = (16, 4096)
SATURATION_RANGE = (0.0, 4.0)
MAX_SIDE_RANGE = (16, 16384)


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 (the addresses only this machine can reach)."""
    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Settings:
    """Configuration of one server (`create_app(settings)`).

    Attributes:
        model: the model used when a request names none ("default", a shipped name, or a weights file given
            by the operator on the command line; a client only ever picks among `models`).
        models: further shipped models a request may pick by name; None: every shipped model.
        device: "auto", "cpu", "cuda", ...
        workers: threads that run the work (decode, model, encode); each request runs on one of them.
        queue: requests that may wait for a free worker; beyond `workers + queue` a request gets a 503
            (default: 4 x workers, at least 8: a page or a script with a few parallel requests sees none).
        max_upload_mb: largest accepted image upload, in MiB (checked while the body streams in).
        max_pixels: largest accepted image, width x height (checked from the header, before decoding).
        token: when set, every /api call needs ``Authorization: Bearer <token>``.
        torch_threads: PyTorch's intra-op threads, set once when the server starts (None: left as they are;
            the command sets 1, since the pool already keeps every core busy with one request each).
        retry_after_s: the Retry-After value of a 503.
    """

    model: str = "default"
    models: list[str] | None = None
    device: str = "auto"
    workers: int = field(default_factory=default_workers)
    queue: int | None = None
    max_upload_mb: float = 50.0
    max_pixels: int = 100_000_000
    token: str | None = None
    torch_threads: int | None = None
    retry_after_s: int = 1

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1. Got {self.workers}")
        if self.queue is None:
            self.queue = max(8, 4 * self.workers)
        if self.queue < 0:
            raise ValueError(f"queue must be >= 0. Got {self.queue}")
        if not self.max_upload_mb > 0:
            raise ValueError(f"max_upload_mb must be > 0. Got {self.max_upload_mb}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be >= 1. Got {self.max_pixels}")
        if self.token is not None and not self.token.strip():
            raise ValueError("token must not be empty")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MB)

    @property
    def max_body_bytes(self) -> int:
        """The whole multipart body: an image and a reference photo, the small fields and their headers."""
        return 2 * self.max_upload_bytes + MAX_FIELD_BYTES + 64 * 1024
