"""Pick the device every model and dataset lives on: CUDA, then Apple MPS, then CPU."""
from __future__ import annotations

import torch

from . import config

ENV_VAR = config.DEVICE


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()


def get_device() -> torch.device:
    """Return the device to compute on.

    ``COURSE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) overrides the automatic choice;
    asking for a device this machine does not have raises a ``RuntimeError`` that says what is
    available.
    """
    wanted = config.device()
    if not wanted:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(wanted)
    except RuntimeError as err:
        raise RuntimeError(
            f"{ENV_VAR}={wanted!r} is not a device name; use cpu, cuda, cuda:N or mps."
        ) from err
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = device.index or 0
        if index >= count:
            raise RuntimeError(
                f"{ENV_VAR}={wanted!r} but this machine has {count} CUDA device(s). "
                f"Available here: {', '.join(available_devices())}. Unset {ENV_VAR} to choose automatically."
            )
    elif device.type == "mps" and not _mps_available():
        raise RuntimeError(
            f"{ENV_VAR}={wanted!r} but Apple MPS is not available here. "
            f"Available here: {', '.join(available_devices())}. Unset {ENV_VAR} to choose automatically."
        )
    elif device.type not in ("cpu", "cuda", "mps"):
        raise RuntimeError(f"{ENV_VAR}={wanted!r}: the course supports cpu, cuda and mps.")
    return device


def available_devices() -> list[str]:
    """Names of the devices this machine offers, e.g. ``['cuda:0', 'cpu']``."""
    names = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if _mps_available():
        names.append("mps")
    return names + ["cpu"]


def describe_device(device: torch.device | None = None) -> str:
    """One line naming the device, e.g. ``'cuda (NVIDIA H100 80GB HBM3)'`` or ``'cpu (2 threads)'``."""
    device = device or get_device()
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)
