import pytest
import torch

from course_lib.device import available_devices, describe_device, get_device


def test_automatic_choice_prefers_accelerators(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert get_device().type == expected
    assert "cpu" in available_devices()


def test_override_to_cpu(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    assert describe_device(torch.device("cpu")).startswith("cpu (")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_unavailable_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cuda:1")
    with pytest.raises(RuntimeError, match=r"0 CUDA device.*Available here: .*cpu.*Unset COURSE_DEVICE"):
        get_device()


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_unavailable_mps_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "mps")
    with pytest.raises(RuntimeError, match="MPS is not available"):
        get_device()


def test_nonsense_device_name(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "gpu please")
    with pytest.raises(RuntimeError, match="not a device name"):
        get_device()
