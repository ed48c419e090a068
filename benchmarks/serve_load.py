"""Load and limits of `deepcolor serve`: throughput, latency and memory under load, queue limit, huge uploads.

Starts `deepcolor serve` in a subprocess on a free loopback port (its defaults: a worker per core, one PyTorch
thread each, a queue of 2 x workers) and, from this process, over plain HTTP (http.client, one keep-alive
connection per client thread):

1. Load: 200 `POST /api/colorize` of grey 0.4-megapixel JPEGs (768 x 520, from eight photos, every request's
   file different so that the server's preview cache never helps) at concurrency 8, as previews
   (`max_side=1024`, which keeps these at their own size): errors (anything but a 200), requests per second,
   p50 / p95 latency, and the server's resident memory (VmRSS of its process) after request 50 and after
   request 200 (goal: growth <= 15%).
2. Preview latency, one client at a time (the page's case: a preview of longer side 1024), for the 0.4 MP
   JPEGs and for a 12 MP JPEG (4000 x 3000): a new photo each time ("first"), and the same photo again
   ("again": what the page sends after each hint or slider change; the decoded preview is cached):
   p50 / p95 (goal: p50 <= 0.3 s for a 0.4 MP preview).
3. Burst: 60 requests at once, past workers + queue: how many got 200 and how many 503 (with Retry-After),
   no other status, no error, no hang (every request answered within the timeout).
4. A 300 MB upload, sent as a declared Content-Length and as a chunked body: both answered 413, and the
   server's peak memory while it streams in (sampled every 10 ms) minus its memory before.

    python benchmarks/serve_load.py                         # prints a markdown report
    python benchmarks/serve_load.py --output benchmarks/results/serve_load.md
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
LOAD_SIZE = (768, 520)  # 0.40 MP
BIG_SIZE = (4000, 3000)  # 12 MP


# --------------------------------------------------------------------------------------------------- inputs


def _photos(n: int, size: tuple[int, int]) -> list[bytes]:
    """Grey JPEGs from scikit-image's sample photos (synthetic ones if it has none), resized to `size`."""
    images: list[Image.Image] = []
    try:
        from skimage import data

        for name in (
            "astronaut",
            "coffee",
            "chelsea",
            "rocket",
            "immunohistochemistry",
            "retina",
            "cat",
            "camera",
        ):
            try:
                images.append(Image.fromarray(getattr(data, name)()))
            except Exception:  # noqa: BLE001 - a sample that this scikit-image lacks
                continue
    except ImportError:
        pass
    rng = np.random.default_rng(0)
    while len(images) < n:
        images.append(Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).resize((512, 384)))
    out = []
    for image in images[:n]:
        buffer = io.BytesIO()
        image.convert("L").resize(size, Image.Resampling.BICUBIC).save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def _variants(photos: list[bytes], n: int) -> list[bytes]:
    """`n` different files: the JPEGs with a comment segment (COM) holding the request's number right after
    the start marker. Same pixels, different bytes: the server's preview cache (keyed by the bytes) misses."""
    out = []
    for i in range(n):
        jpeg = photos[i % len(photos)]
        assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
        text = f"deepcolor serve_load {i}".encode()
        out.append(jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:])
    return out


def _multipart(data: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n".encode()
        + data
        + b"\r\n"
    ]
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --------------------------------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, *args: str) -> None:
        self.port = _free_port()
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deepcolor", "serve", "--port", str(self.port), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        deadline = time.monotonic() + 180
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"deepcolor serve exited: {self.process.stderr.read().decode()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as response:
                    self.health = response.read().decode()
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("deepcolor serve did not start within 180 s") from None
                time.sleep(0.25)

    def rss_mb(self) -> float:
        return _status_kb(self.process.pid, "VmRSS") / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


def _status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Client:
    """One keep-alive connection; `post` returns (status, seconds, Retry-After)."""

    def __init__(self, port: int, timeout: float = 300) -> None:
        self.port, self.timeout = port, timeout
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, float, str | None]:
        started = time.perf_counter()
        try:
            self.connection.request("POST", path, body=body, headers={"Content-Type": content_type})
            response = self.connection.getresponse()
            response.read()
            status, retry = response.status, response.getheader("Retry-After")
            if response.getheader("Connection", "").lower() == "close":
                self._reconnect()
        except (OSError, http.client.HTTPException):
            self._reconnect()
            return -1, time.perf_counter() - started, None
        return status, time.perf_counter() - started, retry

    def _reconnect(self) -> None:
        self.connection.close()
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


# ---------------------------------------------------------------------------------------------------- parts


def load(server: Server, photos: list[bytes], total: int, concurrency: int) -> dict:
    bodies = [_multipart(p, {"max_side": "1024"}) for p in _variants(photos, total + concurrency)]
    lock = threading.Lock()
    done = [0]
    rss: dict[int, float] = {}
    results: list[tuple[int, float]] = []
    local = threading.local()

    def one(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = Client(server.port)
        status, seconds, _ = local.client.post("/api/colorize", *bodies[i])
        with lock:
            results.append((status, seconds))
            done[0] += 1
            if done[0] in (50, total):
                rss[done[0]] = server.rss_mb()

    # warm-up, not counted: the first request of each worker pays for lazy allocations
    warm = Client(server.port)
    for body in bodies[total:]:
        warm.post("/api/colorize", *body)
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(total)))
    wall = time.perf_counter() - started
    latencies = [s for status, s in results if status == 200]
    errors = sum(status != 200 for status, _ in results)
    return {
        "requests": total,
        "errors": errors,
        "rps": total / wall,
        "wall": wall,
        "p50": _percentile(latencies, 50),
        "p95": _percentile(latencies, 95),
        "rss50": rss.get(50, float("nan")),
        "rss_end": rss.get(total, float("nan")),
    }


def preview_latency(server: Server, photos: list[bytes], repeats: int) -> dict:
    """p50 / p95 of one client's previews: each time a new file ("first"), and one file again ("again")."""
    client = Client(server.port)
    fresh = [_multipart(p, {"max_side": "1024"}) for p in _variants(photos, repeats + 1)]
    client.post("/api/colorize", *fresh[-1])  # warm-up
    out: dict[str, float] = {"n": repeats, "errors": 0}
    for kind, bodies in (("first", fresh[:repeats]), ("again", [fresh[-1]] * repeats)):
        times = []
        for body in bodies:
            status, seconds, _ = client.post("/api/colorize", *body)
            out["errors"] += status != 200
            times.append(seconds)
        out[f"{kind}_p50"], out[f"{kind}_p95"] = _percentile(times, 50), _percentile(times, 95)
    return out


def burst(server: Server, photo: bytes, n: int) -> dict:
    body = _multipart(photo, {"max_side": "1024"})
    barrier = threading.Barrier(n)
    results: list[tuple[int, float, str | None]] = []
    lock = threading.Lock()

    def one(_: int) -> None:
        client = Client(server.port, timeout=120)
        barrier.wait()
        outcome = client.post("/api/colorize", *body)
        with lock:
            results.append(outcome)

    started = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(one, range(n)))
    statuses = [status for status, _, _ in results]
    return {
        "n": n,
        "ok": statuses.count(200),
        "busy": statuses.count(503),
        "other": sum(s not in (200, 503) for s in statuses),
        "retry_after": sorted({r for s, _, r in results if s == 503 and r}),
        "slowest": max(seconds for _, seconds, _ in results),
        "wall": time.perf_counter() - started,
        "answered": len(results),
    }


def huge_upload(server: Server, size: int, chunked: bool) -> dict:
    """Send `size` bytes of a multipart body; stop sending when the answer comes. Peak RSS while it runs."""
    before = server.rss_mb()
    peak = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], server.rss_mb())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    boundary = "huge"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    chunk = b"\xff" * (1 << 20)
    sent, answer = 0, b""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
        length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
        s.sendall(
            f"POST /api/colorize HTTP/1.1\r\nHost: 127.0.0.1\r\n{length}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n".encode()
        )
        s.setblocking(False)
        pieces = [head] + [chunk] * (size // len(chunk))
        try:
            for piece in pieces:
                data = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
                view = memoryview(data)
                while view:
                    try:
                        answer += s.recv(65536)
                    except BlockingIOError:
                        pass
                    if answer:
                        raise StopIteration
                    try:
                        n = s.send(view)
                        view = view[n:]
                        sent += n
                    except BlockingIOError:
                        time.sleep(0.001)
        except (StopIteration, BrokenPipeError, ConnectionResetError):
            pass
        s.setblocking(True)
        s.settimeout(30)
        try:
            while b'"}' not in answer:
                piece = s.recv(65536)
                if not piece:
                    break
                answer += piece
        except OSError:
            pass
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "none"
    body = answer.split(b"\r\n\r\n", 1)[-1].decode("latin-1")
    return {
        "status": status,
        "sent_mb": sent / 1e6,
        "seconds": seconds,
        "before": before,
        "peak_growth": peak[0] - before,
        "body": body.strip(),
    }


# --------------------------------------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--burst", type=int, default=60)
    parser.add_argument("--upload-mb", type=int, default=300)
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args()

    photos = _photos(8, LOAD_SIZE)
    big = _photos(1, BIG_SIZE)[0]
    load_avg = os.getloadavg()
    server = Server()
    try:
        result = load(server, photos, args.requests, args.concurrency)
        single = preview_latency(server, photos, 24)
        single_big = preview_latency(server, [big], 8)
        bursted = burst(server, photos[1], args.burst)
        declared = huge_upload(server, args.upload_mb * 1024 * 1024, chunked=False)
        streamed = huge_upload(server, args.upload_mb * 1024 * 1024, chunked=True)
        end_load = os.getloadavg()
    finally:
        server.stop()

    growth = 100.0 * (result["rss_end"] - result["rss50"]) / result["rss50"]
    yes = {True: "yes", False: "no"}
    burst_ok = bursted["other"] == 0 and bursted["busy"] > 0 and bursted["answered"] == bursted["n"]
    upload_growth = max(declared["peak_growth"], streamed["peak_growth"])
    upload_ok = declared["status"] == streamed["status"] == "413" and upload_growth < 0.5 * args.upload_mb
    retry = ", ".join(bursted["retry_after"]) or "-"
    cpu = platform.processor() or platform.machine()
    preview_rows = []
    for label, r in (("0.4 MP JPEG (768 x 520)", single), ("12 MP JPEG (4000 x 3000)", single_big)):
        preview_rows.append(
            f"| {label}, max_side 1024 | {r['first_p50']:.3f} s | {r['first_p95']:.3f} s "
            f"| {r['again_p50']:.3f} s | {r['again_p95']:.3f} s | {2 * r['n']} | {r['errors']} |"
        )
    upload_rows = []
    for label, u in (("Content-Length", declared), ("chunked", streamed)):
        upload_rows.append(
            f"| {args.upload_mb} MB, {label} | {u['status']} `{u['body']}` | {u['sent_mb']:.1f} MB "
            f"| {u['before']:.0f} MiB | +{u['peak_growth']:.0f} MiB |"
        )
    lines = [
        "# Load and limits of `deepcolor serve`",
        "",
        f"`python benchmarks/serve_load.py` on this machine: {os.cpu_count()} cores ({cpu}), Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}. Server: `deepcolor serve` with its "
        f"defaults ({server.health}). Load average {load_avg[0]:.1f} at the start, {end_load[0]:.1f} at the "
        "end (other jobs on the machine inflate the wall times).",
        "",
        "## Goals",
        "",
        "| goal | result | met |",
        "| --- | --- | --- |",
        f"| {args.requests} colorize requests (0.4 MP JPEG) at concurrency {args.concurrency}: zero errors "
        f"| {result['errors']} errors | {yes[result['errors'] == 0]} |",
        f"| server memory growth from request 50 to {args.requests} <= 15% | {result['rss50']:.0f} -> "
        f"{result['rss_end']:.0f} MiB ({growth:+.1f}%) | {yes[growth <= 15]} |",
        f"| a burst past the queue gets 503s, no errors, no hang | {bursted['ok']} x 200, "
        f"{bursted['busy']} x 503 (Retry-After {retry}), {bursted['other']} other, all {bursted['answered']} "
        f"answered within {bursted['slowest']:.1f} s | {yes[burst_ok]} |",
        f"| a {args.upload_mb} MB upload gets 413 without the server's memory growing by it | declared: "
        f"{declared['status']}, +{declared['peak_growth']:.0f} MiB; chunked: {streamed['status']}, "
        f"+{streamed['peak_growth']:.0f} MiB | {yes[upload_ok]} |",
        f"| p50 of a preview (longer side 1024) <= 0.3 s | 0.4 MP JPEG: {single['first_p50']:.3f} s new, "
        f"{single['again_p50']:.3f} s again; 12 MP JPEG: {single_big['first_p50']:.3f} s new, "
        f"{single_big['again_p50']:.3f} s again (one client) | {yes[single['first_p50'] <= 0.3]} |",
        "",
        f"## Load: {args.requests} requests at concurrency {args.concurrency}",
        "",
        "| requests | errors | requests/s | p50 | p95 | RSS after 50 | RSS after all |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| {result['requests']} | {result['errors']} | {result['rps']:.1f} | {result['p50']:.3f} s | "
        f"{result['p95']:.3f} s | {result['rss50']:.0f} MiB | {result['rss_end']:.0f} MiB |",
        "",
        f"Latency at concurrency {args.concurrency} includes the wait for a worker: with fewer workers than "
        "clients a request queues behind the others (p50 about clients / workers x the service time).",
        "",
        "## Preview latency, one client",
        "",
        '"new": a photo the server has not seen; "again": the same file once more, as the page sends it '
        "after each hint or slider change (its decoded preview is cached).",
        "",
        "| input | new p50 | new p95 | again p50 | again p95 | requests | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *preview_rows,
        "",
        "## Burst and huge uploads",
        "",
        f"Burst: {bursted['n']} requests at once: {bursted['ok']} answered 200, {bursted['busy']} answered "
        f"503, {bursted['other']} anything else, in {bursted['wall']:.1f} s.",
        "",
        "| upload | answer | sent before the answer | server memory before | peak growth while sending |",
        "| --- | --- | --- | --- | --- |",
        *upload_rows,
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.output:
        args.output.write_text(report)


if __name__ == "__main__":
    main()
