"""tools/render_html.py: a lesson runs in a kernel of its own environment, and the kernel goes."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("render_html", ROOT / "tools" / "render_html.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _kernels() -> list[int]:
    return [p.pid for p in psutil.Process().children(recursive=True)
            if "ipykernel" in " ".join(p.cmdline())]


def test_a_lesson_runs_without_touching_this_environment_and_leaves_no_kernel(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    before, kernels_before = dict(os.environ), set(_kernels())
    nb, seconds, error = _tool().execute(ROOT / "notebooks" / "00_setup.ipynb", timeout=300, fast=True,
                                         progress_file=tmp_path / "progress.json")
    assert error == "" and seconds > 0
    assert any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")
    assert dict(os.environ) == before
    assert set(_kernels()) <= kernels_before
