from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from deepcolor.inference import bands
from deepcolor.inference.bands import for_each_band


@pytest.fixture
def two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_every_row_once_in_inference_mode(monkeypatch, threads):
    monkeypatch.setattr(bands, "rows_per_tile", lambda width, pixels=0: 7)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        seen = np.zeros(100, dtype=int)
        modes, names = set(), set()

        def work(start, stop):
            seen[start:stop] += 1
            modes.add(torch.is_inference_mode_enabled())
            names.add(threading.current_thread().name.startswith("deepcolor-band"))
            assert torch.get_num_threads() == 1 or threads == 1

        for_each_band(100, 50, work)
        assert (seen == 1).all()
        assert modes == {True}
        assert names == {threads > 1}
        assert torch.get_num_threads() == threads  # restored
    finally:
        torch.set_num_threads(previous)


def test_a_worker_error_reaches_the_caller_and_threads_are_restored(monkeypatch, two_threads):
    monkeypatch.setattr(bands, "rows_per_tile", lambda width, pixels=0: 10)

    def work(start, stop):
        if start == 30:
            raise ValueError("band 30 is broken")

    with pytest.raises(ValueError, match="band 30"):
        for_each_band(100, 50, work)
    assert torch.get_num_threads() == 2


def test_parallel_bands_give_the_same_image(two_threads):
    from deepcolor.inference import Colorizer

    from .helpers import LeftRight

    grey = np.random.default_rng(0).random((300, 4000)).astype(np.float32)  # 1.2 MP: two bands or more
    colorizer = Colorizer(LeftRight(), device="cpu", render_size=64)
    parallel = colorizer.colorize_array(grey)
    torch.set_num_threads(1)
    sequential = colorizer.colorize_array(grey)
    np.testing.assert_array_equal(parallel, sequential)
