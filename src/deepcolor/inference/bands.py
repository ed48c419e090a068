"""Full-resolution work in bands of rows, the bands spread over the CPU cores.

Every full-resolution step of the inference path (L*, guided upsampling, Lab -> sRGB, enhancement) works
on bands of a megapixel or two: the temporaries stay small (a 50-megapixel photo needs little more memory
than its own pixels) and warm in the caches. On the CPU the bands run in parallel, one band per core with
PyTorch's intra-op threads set to 1, rather than one band at a time with every operation split across the
cores: the work is the same, but there are a few dozen hand-overs between threads per photo instead of
thousands (one per operation), which matters most when other processes share the cores (each hand-over may
then wait for a time slice: up to 5x slower in our measurements on a loaded 2-core machine).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import torch

BAND_PIXELS = 1 << 21  # 2 M pixels: a few tens of MB per float temporary
PARALLEL_BAND_PIXELS = 1 << 20  # 1 M pixels per band when several bands run at once


def rows_per_tile(width: int, pixels: int = BAND_PIXELS) -> int:
    """Rows in a band of about `pixels` pixels."""
    return max(1, pixels // max(1, width))


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """PyTorch's intra-op threads set to 1 inside the block, restored after it."""
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on other C libraries."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Hand the memory freed by the band workers back to the OS (glibc keeps freed heap memory of every
    thread's arena otherwise, and the next big step, e.g. encoding the output file, adds to it)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _run(work: Callable[[int, int], None], start: int, stop: int) -> None:
    with torch.inference_mode():  # thread-local: each worker enters it itself
        work(start, stop)


def for_each_band(
    height: int, width: int, work: Callable[[int, int], None], device: torch.device | str = "cpu"
) -> None:
    """Call `work(start, stop)` for the bands of rows [start, stop) that cover `height` rows.

    On the CPU with more than one PyTorch thread, the bands run in a pool of that many threads, each band
    single-threaded; `work` must only write to its own rows of shared outputs. Elsewhere (one thread, or a
    GPU, whose kernels are asynchronous anyway) the bands run one after another. Always in inference mode.

    Args:
        height: number of rows.
        width: row length in pixels (sets the band height).
        work: does the work for rows [start, stop).
        device: where the tensors of `work` live.
    """
    workers = torch.get_num_threads() if torch.device(device).type == "cpu" else 1
    step = rows_per_tile(width, PARALLEL_BAND_PIXELS if workers > 1 else BAND_PIXELS)
    bands = [(start, min(height, start + step)) for start in range(0, height, step)]
    if workers <= 1 or len(bands) == 1:
        for start, stop in bands:
            _run(work, start, stop)
        return
    pool = ThreadPoolExecutor(max_workers=min(workers, len(bands)), thread_name_prefix="deepcolor-band")
    with single_threaded(), pool:
        for future in [pool.submit(_run, work, start, stop) for start, stop in bands]:
            future.result()  # re-raises a worker's exception here
    release_freed_memory()
