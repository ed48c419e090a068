"""deepcolor.device: device names are checked before torch is asked, and mistakes are ValueErrors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from deepcolor.device import check_device_name, pick_device


@pytest.mark.parametrize("name", ["auto", "cpu", "cuda", "cuda:0", "cuda:12", "mps"])
def test_good_spellings(name):
    assert check_device_name(name) == name


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "cuda:", "cuda:-1", "auto:0", "", "CPU", " cpu"])
def test_unknown_devices_are_value_errors(name):
    with pytest.raises(ValueError, match=r"unknown device .* \(use one of: auto, cpu, cuda, cuda:N"):
        check_device_name(name)
    with pytest.raises(ValueError, match="unknown device"):  # torch.device("tpu") raised RuntimeError
        pick_device(name)


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_cuda():
    with pytest.raises(ValueError, match="CUDA is not available here"):
        pick_device("cuda:1")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_index_past_the_last_device():
    count = torch.cuda.device_count()
    with pytest.raises(ValueError, match=f"has {count} CUDA device"):
        pick_device(f"cuda:{count}")


def test_checking_a_name_does_not_import_torch():
    code = "import sys, deepcolor.device as d; d.check_device_name('cpu'); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_api_refuses_an_unknown_device_with_a_value_error(gray_image):
    import deepcolor

    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        deepcolor.colorize(gray_image, device="tpu")
