"""One colour convention for images across the course (see ``course_lib.plots``' docstring).

Pixel images are grey on 0 (black) to 1 (white), never inverted; signed weights use ``RdBu_r``;
tables of shares or scores use ``viridis``. Every ``cmap=`` written in a lesson, a solution or the
library is one of these, and every grey ``imshow`` of a pixel image fixes its range to 0-1
(matplotlib would otherwise stretch each image's own range, so brightness could not be compared).
"""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
ALLOWED = {"gray", "RdBu_r", "viridis"}


def sources() -> list[tuple[str, str]]:
    found = [(str(p.relative_to(REPO)), p.read_text()) for p in sorted((REPO / "course_lib").rglob("*.py"))]
    for folder in ("notebooks", "solutions", "exercises"):
        for path in sorted((REPO / folder).glob("*.ipynb")):
            nb = nbformat.read(str(path), as_version=4)
            for i, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                     for line in cell.source.splitlines())
                    found.append((f"{path.relative_to(REPO)} cell {i}", code))
    return found


def calls_with_cmap(code: str):
    try:
        tree = ast.parse(code)
    except SyntaxError:  # an exercise's stub may not parse on its own
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            if "cmap" in keywords:
                yield node, keywords


SOURCES = sources()


def test_the_scan_sees_the_course_figures():
    maps = {kw["cmap"].value for _, code in SOURCES for _, kw in calls_with_cmap(code)
            if isinstance(kw["cmap"], ast.Constant)}
    assert {"gray", "RdBu_r"} <= maps  # the scan reads the notebooks and the library


@pytest.mark.parametrize("where,code", SOURCES, ids=[w for w, _ in SOURCES])
def test_colour_maps_follow_the_convention(where, code):
    for node, kw in calls_with_cmap(code):
        cmap = kw["cmap"]
        if not isinstance(cmap, ast.Constant):
            continue  # chosen by a function of the library, itself checked here
        assert cmap.value in ALLOWED, f"{where}, line {node.lineno}: cmap={cmap.value!r} (use one of {sorted(ALLOWED)})"
        is_imshow = isinstance(node.func, ast.Attribute) and node.func.attr == "imshow"
        if is_imshow and cmap.value == "gray":
            assert "vmin" in kw and "vmax" in kw, (
                f"{where}, line {node.lineno}: a grey image without vmin/vmax is stretched to its own range")
