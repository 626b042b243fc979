"""Notebooks are stored diff-friendly: no outputs except cells nbval compares, and lessons come in sets."""
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for d in ("notebooks", "solutions", "exercises") for p in (ROOT / d).glob("*.ipynb"))


def test_the_course_has_notebooks():
    assert (ROOT / "notebooks" / "00_setup.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_outputs_only_where_nbval_compares_them(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.outputs:
            assert "NBVAL_CHECK_OUTPUT" in cell.source, f"cell {i} stores outputs nbval does not compare"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_opens_with_a_python_kernel_and_a_title(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    titles = [c for c in nb.cells if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")]
    assert titles, "a lesson starts with a '# ' title"


def test_every_lesson_has_its_solution_and_exercise_twins():
    lessons = {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")} - {"00_setup.ipynb"}
    solutions = {p.name for p in (ROOT / "solutions").glob("*.ipynb")}
    exercises = {p.name for p in (ROOT / "exercises").glob("*.ipynb")}
    assert solutions == exercises, "run: make exercises"
    assert lessons == solutions, f"lessons and solutions differ: {sorted(lessons ^ solutions)}"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parent.name in ("solutions", "exercises")],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_exercise_notebooks_end_with_the_score_table_alone(path):
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    last = code[-1].source.strip().splitlines()[-1]
    assert last.startswith("course.summary(") and last.endswith(");"), (
        f"end with `course.summary(...);` (the semicolon keeps the returned dict out of view), not {last!r}")
