"""Shared test set-up: isolated progress files, lenient checks, closed figures, and the gpu/slow markers."""
from __future__ import annotations

import os
import sys

import pytest


@pytest.fixture(autouse=True)
def _isolated_course_state(tmp_path, monkeypatch):
    """Each test gets its own progress file, and checks report failures instead of raising.

    ``make test`` sets ``COURSE_STRICT_CHECKS=1`` for the notebooks; unit tests that want strict
    mode set it themselves with ``monkeypatch.setenv``.
    """
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(tmp_path / "progress" / "progress.json"))
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)


@pytest.fixture(autouse=True)
def _close_figures():
    """Figures a test draws are closed after it, so that they do not pile up in pyplot."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def _has_accelerator() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return torch.cuda.is_available() or bool(mps and mps.is_available())


def pytest_collection_modifyitems(config, items):
    """Skip ``gpu`` tests without CUDA/MPS, and ``slow`` tests unless asked for.

    Slow tests run with ``COURSE_SLOW=1`` or when the ``-m`` expression names ``slow``.
    """
    want_slow = os.environ.get("COURSE_SLOW") == "1" or "slow" in (config.option.markexpr or "")
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    no_gpu = bool(gpu_items) and not _has_accelerator()
    for item in items:
        if item.get_closest_marker("slow") and not want_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with COURSE_SLOW=1 or -m slow"))
        if item.get_closest_marker("gpu") and no_gpu:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA or MPS device; none found"))
