"""Lessons state their findings through claims that print, and type no number their run does not back.

Statically, without running anything: every ``claim(...)`` of a lesson notebook sits in a cell whose
output is shown (not captured, redirected or hidden by a tag); and every number typed in the prose
of the lessons listed in ``PROSE_CHECKED`` is maths, code, a name, a parameter the lesson's code
sets, or a value one of its stored outputs prints (``tools/prose_numbers.py``). The full run
(``make lessons-full``) then evaluates the claims with ``COURSE_STRICT_CLAIMS=1``.
"""
from __future__ import annotations

import ast
import functools
import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PROSE_CHECKED = ("00", "01", "02", "03", "04", "05", "06", "07", "08")  # every lesson
HIDING_TAGS = {"remove-output", "remove_output", "hide-output", "remove-cell", "remove_cell", "remove-input"}


@functools.cache
def _tool():
    spec = importlib.util.spec_from_file_location("prose_numbers", ROOT / "tools" / "prose_numbers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def _claim_calls(source: str) -> list[ast.Call]:
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    return [node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "claim"]


def _problems_with_claims(nb) -> list[str]:
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not (calls := _claim_calls(cell.source)):
            continue
        if "%%capture" in cell.source or "redirect_stdout" in cell.source:
            problems.append(f"cell {i}: its claims print into a capture, where no reader sees them")
        if hidden := HIDING_TAGS & set(cell.metadata.get("tags", [])):
            problems.append(f"cell {i}: tag {sorted(hidden)} hides the claims' lines")
        for call in calls:
            statement = call.args[0] if call.args else None
            literal = isinstance(statement, ast.JoinedStr) or (
                isinstance(statement, ast.Constant) and isinstance(statement.value, str))
            if not literal:
                problems.append(f"cell {i}, line {call.lineno}: a claim's statement must be written "
                                "where it is made (a string or an f-string)")
            if len(call.args) < 2:
                problems.append(f"cell {i}, line {call.lineno}: a claim needs its condition")
    if any(_claim_calls(c.source) for c in nb.cells if c.cell_type == "code"):
        imports = "".join(c.source for c in nb.cells if c.cell_type == "code")
        if "from course_lib.claims import claim" not in imports:
            problems.append("claim(...) is called but not imported from course_lib.claims")
    return problems


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_every_claim_prints_where_a_reader_sees_it(path):
    assert _problems_with_claims(nbformat.read(path, as_version=4)) == []


@pytest.mark.parametrize("number", PROSE_CHECKED)
def test_lessons_state_their_findings_as_claims(number):
    (path,) = (ROOT / "notebooks").glob(f"{number}_*.ipynb")
    calls = sum(len(_claim_calls(c.source)) for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert calls >= 1


@pytest.mark.parametrize("number", PROSE_CHECKED)
def test_no_unbacked_number_in_the_prose(number):
    (path,) = (ROOT / "notebooks").glob(f"{number}_*.ipynb")
    found = _tool().unbacked_numbers(nbformat.read(path, as_version=4))
    assert [str(item) for item in found] == []


def _notebook(markdown: str, code: str, output: str | None = None):
    cell = nbformat.v4.new_code_cell(code)
    if output is not None:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown), cell])


def test_the_prose_check_finds_a_typed_measurement_and_accepts_what_is_backed():
    unbacked = _tool().unbacked_numbers
    typed = _notebook("L0 falls from about 1000 to a few dozen.", "lams = [0.0, 3.0]")
    assert [item.text for item in unbacked(typed)] == ["1000"]
    assert [item.text for item in unbacked(_notebook("It took 12 s.", "x = 1"))] == ["12"]
    cited = _notebook("As Gao et al. (2024) and Olshausen & Field, 1996 found, 2013 images suffice.", "x = 1")
    assert [item.text for item in unbacked(cited)] == ["2013"]  # a year after a name; a count is not
    backed = _notebook("1. With $\\lambda = 1000$, `l0 < 30`, lam = 0.3 and 5% of units (lesson 04, L1):\n"
                       "the table prints 0.49 and 12%.", "# NBVAL_CHECK_OUTPUT\nlam = 0.3\nrho = 0.05",
                       output="KL 0.4946, share 0.1234\n")
    assert unbacked(backed) == []
    # an output that is not stored for comparison does not back a number, unless the notebook is an executed copy
    loose = _notebook("FVU 0.49.", "print(fvu)", output="FVU 0.4946\n")
    assert [item.text for item in unbacked(loose, every_output=False)] == ["0.49"]
    assert unbacked(loose) == []


def test_the_claims_check_finds_a_silenced_claim():
    nb = _notebook("x", "%%capture\nfrom course_lib.claims import claim\nclaim('a holds', True)")
    assert _problems_with_claims(nb) == ["cell 1: its claims print into a capture, where no reader sees them"]
    nb = _notebook("x", "claim(statement, True)")
    assert len(_problems_with_claims(nb)) == 2  # not a literal, not imported
