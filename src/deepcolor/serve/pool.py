"""The bounded work pool: a fixed number of worker threads and a fixed number of waiting places.

A request takes a place once its body has been read (so that a slow upload holds none; the body has a deadline
of its own, `Settings.body_timeout_s`) and keeps it until its result is encoded. When every worker is busy and
every waiting place is taken, the request gets a 503 with Retry-After instead of piling up. The bodies being
read and held are bounded too, by the bytes received (`buffer`): a slow client holds only what it has sent,
and the server's memory and latency stay bounded under any load.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from deepcolor.serve.errors import ClientError

T = TypeVar("T")


class WorkPool:
    """`workers` threads, `workers + queue` places for requests.

    All bookkeeping happens on the event loop's thread, so the counter needs no lock.
    """

    def __init__(
        self, workers: int, queue: int, retry_after_s: int = 1, max_buffered_bytes: int | None = None
    ) -> None:
        self.workers = workers
        self.queue = queue
        self.capacity = workers + queue
        self.retry_after_s = retry_after_s
        self.max_buffered_bytes = max_buffered_bytes
        self.busy = 0
        self.buffered = 0
        self.refused = 0
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deepcolor-serve")

    @contextlib.asynccontextmanager
    async def place(self) -> AsyncIterator[None]:
        """Hold a place for one request; a 503 when there is none."""
        if self.busy >= self.capacity:
            self.refused += 1
            raise ClientError(
                503,
                f"the server is busy ({self.workers} working, {self.queue} waiting); try again shortly",
                headers={"Retry-After": str(self.retry_after_s)},
            )
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1

    @contextlib.asynccontextmanager
    async def buffer(self) -> AsyncIterator[Callable[[int], None]]:
        """For one request's body: a function that counts `n` more bytes received, with a 503 when the bodies
        held by all requests would pass `max_buffered_bytes`; they are released when the request ends."""
        held = 0

        def add(n: int) -> None:
            nonlocal held
            limit = self.max_buffered_bytes
            if limit is not None and self.buffered + n > limit:
                self.refused += 1
                raise ClientError(
                    503,
                    f"the server is receiving too many uploads ({self.buffered / (1 << 20):.0f} MB held); "
                    "try again shortly",
                    headers={"Retry-After": str(self.retry_after_s), "Connection": "close"},
                )
            held += n
            self.buffered += n

        try:
            yield add
        finally:
            self.buffered -= held

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def shutdown(self) -> None:
        """Let running work finish, then stop the threads."""
        self._executor.shutdown(wait=True, cancel_futures=True)
