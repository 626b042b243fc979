"""Execute notebooks in fast mode and keep only the outputs nbval should compare.

Usage: python tools/store_outputs.py notebooks/02_l1_sparsity.ipynb [more.ipynb ...]

Cells marked ``# NBVAL_CHECK_OUTPUT`` keep their outputs (they must be deterministic); every other
cell is stored without outputs or execution count, so notebooks stay small and diff-friendly.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "NBVAL_CHECK_OUTPUT"


def store(path: Path, timeout: int = 600) -> int:
    nb = nbformat.read(path, as_version=4)
    env = {"COURSE_FAST": "1", "COURSE_STRICT_CHECKS": os.environ.get("COURSE_STRICT_CHECKS", "1")}
    os.environ.update(env)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    kept = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if MARK in cell.source:
            kept += 1  # nbval skips cells without an execution count as never run
        else:
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return kept


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}: kept outputs of {store(Path(arg))} marked cell(s)")
