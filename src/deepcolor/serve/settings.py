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


def is_wildcard(host: str) -> bool:
    """True for the all-interfaces addresses (0.0.0.0, ::), which serve every address of this machine."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def is_ip_literal(host: str) -> bool:
    """True for an IPv4 address or an IPv6 address (bracketed or not)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


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
        host: the address the server listens on; with the loopback names, the Host headers it answers.
        allowed_hosts: further host names a request's Host header may carry (a name this machine has in
            DNS, say); any other Host is refused with a 400, so that a web page elsewhere cannot reach the
            server through DNS rebinding.
        body_timeout_s: a request's whole body must arrive within this many seconds (else a 408); the body
            is read before the request takes a place in the pool, so a slow client never holds one.
        max_video_seconds: longest clip a video job takes (``POST /api/videos``; longer ones get a 413).
        video_queue: video jobs that may wait while one runs (one runs at a time, on a slot of its own).
        video_keep_s: seconds a video job's result is kept after it ended, if nobody downloads it.
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
    host: str = "127.0.0.1"
    allowed_hosts: list[str] = field(default_factory=list)
    body_timeout_s: float = 60.0
    max_video_seconds: float = 120.0
    video_queue: int = 2
    video_keep_s: float = 3600.0

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
        if not self.body_timeout_s > 0:
            raise ValueError(f"body_timeout_s must be > 0. Got {self.body_timeout_s}")
        if not self.max_video_seconds > 0:
            raise ValueError(f"max_video_seconds must be > 0. Got {self.max_video_seconds}")
        if self.video_queue < 0:
            raise ValueError(f"video_queue must be >= 0. Got {self.video_queue}")

    def host_allowed(self, host: str) -> bool:
        """Whether a request's Host header (its name, without the port) is one this server answers to:
        the loopback names, `host`, `allowed_hosts`, and any address literal when `host` is a wildcard
        (0.0.0.0, ::). An address literal cannot be rebound by DNS; a name can."""
        name = host.strip().lower().rstrip(".")
        if not name:
            return False
        served = {"localhost", "127.0.0.1", "::1", "[::1]", self.host.lower()}
        served.update(allowed.strip().lower().rstrip(".") for allowed in self.allowed_hosts)
        if name in served or name.strip("[]") in {s.strip("[]") for s in served}:
            return True
        if is_ip_literal(name) and ipaddress.ip_address(name.strip("[]")).is_loopback:
            return True
        return is_wildcard(self.host) and is_ip_literal(name)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MB)

    @property
    def max_body_bytes(self) -> int:
        """The whole multipart body: an image and a reference photo, the small fields and their headers."""
        return 2 * self.max_upload_bytes + MAX_FIELD_BYTES + 64 * 1024
