"""Exercise notebooks generated from solution notebooks."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_lib import exercises

REPO = Path(__file__).resolve().parent.parent

FUNCTION = '''\
def double(x):
    """Twice x."""
    # BEGIN SOLUTION
    y = 2 * x
    return y
    # END SOLUTION'''

METHOD = '''\
class Model:
    def forward(self, x):
        h = x + 1
        # BEGIN SOLUTION
        return h.relu()
        # END SOLUTION

    def name(self):
        return "model"'''

QUIZ = '''\
# NBVAL_CHECK_OUTPUT
# BEGIN SOLUTION
quiz.answer("01-first", 1)
quiz.answer(
    "01-second", "zeros")
# END SOLUTION'''


def solution_notebook() -> nbformat.NotebookNode:
    code = new_code_cell(FUNCTION, execution_count=3,
                         outputs=[new_output("stream", name="stdout", text="hi\n")])
    code.metadata["execution"] = {"iopub.status.idle": "2025-01-01T00:00:00"}
    nb = new_notebook(cells=[
        new_markdown_cell("# Toy lesson"),
        code,
        new_code_cell(METHOD),
        new_code_cell(QUIZ),
        new_code_cell("# SOLUTION CELL\nprint(double(2))"),
        new_code_cell("check_double(double)", execution_count=5),
    ])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture
def root(tmp_path) -> Path:
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution_notebook(), str(tmp_path / "solutions" / "01_toy.ipynb"))
    return tmp_path


def generate(root: Path, **kwargs) -> dict[str, str]:
    actions = exercises.generate(root / "solutions", root / "exercises", **kwargs)
    return {Path(name).name: action for name, action in actions.items()}


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def edit_solution(root: Path, old: str, new: str) -> None:
    path = root / "solutions" / "01_toy.ipynb"
    nb = read(path)
    nb.cells[1].source = nb.cells[1].source.replace(old, new)
    nbformat.write(nb, str(path))


def test_regions_become_stubs_at_their_indentation(root):
    assert generate(root) == {"01_toy.ipynb": "created"}
    cells = read(root / "exercises" / "01_toy.ipynb").cells
    assert [c.source for c in cells] == [
        "# Toy lesson",
        'def double(x):\n    """Twice x."""\n    # YOUR CODE HERE\n'
        '    raise NotImplementedError("Replace this line with your code")',
        'class Model:\n    def forward(self, x):\n        h = x + 1\n        # YOUR CODE HERE\n'
        '        raise NotImplementedError("Replace this line with your code")\n\n'
        '    def name(self):\n        return "model"',
        'quiz.ask("01-first")\n'
        'quiz.answer("01-first", None);  # for a graded hand-in: replace None with your answer\n'
        'quiz.ask("01-second")\n'
        'quiz.answer("01-second", None);  # for a graded hand-in: replace None with your answer',
        "check_double(double)",
    ]


def test_outputs_counts_and_run_metadata_are_cleared(root):
    generate(root)
    nb = read(root / "exercises" / "01_toy.ipynb")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert all("execution" not in c.metadata for c in code)
    assert "widgets" not in nb.metadata and nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["course"] == {"generated_from": "solutions/01_toy.ipynb",
                                     "generated_sha": exercises.sources_hash(nb)}


def test_written_file_is_diff_friendly(root):
    generate(root)
    text = (root / "exercises" / "01_toy.ipynb").read_text()
    assert text.startswith('{\n "cells": [\n  {\n')
    assert text.endswith("}\n") and '"outputs": []' in text
    generate(root)  # regenerating an unchanged notebook does not touch it
    assert (root / "exercises" / "01_toy.ipynb").read_text() == text


def test_unchanged_then_updated_when_the_solution_changes(root):
    generate(root)
    assert generate(root) == {"01_toy.ipynb": "up to date"}
    edit_solution(root, "Twice x.", "Return twice x.")
    assert generate(root) == {"01_toy.ipynb": "updated"}
    assert "Return twice x." in read(root / "exercises" / "01_toy.ipynb").cells[1].source


def test_running_the_exercise_is_not_an_edit(root):
    generate(root)
    path = root / "exercises" / "01_toy.ipynb"
    nb = read(path)
    nb.cells[4].outputs = [new_output("stream", name="stdout", text="⏳ Not implemented yet\n")]
    nb.cells[4].execution_count = 1
    nbformat.write(nb, str(path))
    edit_solution(root, "Twice x.", "Return twice x.")
    assert generate(root) == {"01_toy.ipynb": "updated"}


def learner_edits(root: Path) -> str:
    path = root / "exercises" / "01_toy.ipynb"
    nb = read(path)
    nb.cells[1].source = nb.cells[1].source.replace(
        'raise NotImplementedError("Replace this line with your code")', "return x + x")
    nbformat.write(nb, str(path))
    return path.read_text()


def test_learner_edits_are_never_overwritten(root, capsys):
    generate(root)
    edited = learner_edits(root)
    edit_solution(root, "Twice x.", "Return twice x.")
    capsys.readouterr()
    assert generate(root) == {"01_toy.ipynb": "kept (has your edits)"}
    assert (root / "exercises" / "01_toy.ipynb").read_text() == edited
    assert capsys.readouterr().out.strip().endswith(
        "01_toy.ipynb has your edits; not overwritten (use --force to replace it; a backup is written)")


def test_force_replaces_after_a_backup(root):
    generate(root)
    edited = learner_edits(root)
    actions = generate(root, force=True)
    assert actions["01_toy.ipynb"].startswith("replaced; your version is in ")
    backups = list((root / "exercises").glob("01_toy.ipynb.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == edited
    assert "raise NotImplementedError" in read(root / "exercises" / "01_toy.ipynb").cells[1].source


def test_names_select_notebooks(root):
    nbformat.write(solution_notebook(), str(root / "solutions" / "02_other.ipynb"))
    assert generate(root, names=["02"]) == {"02_other.ipynb": "created"}
    assert generate(root, names=["01_toy"]) == {"01_toy.ipynb": "created"}


def test_check_detects_drift_and_orphans(root, capsys):
    exercises_dir = root / "exercises"
    assert exercises.check(root / "solutions", exercises_dir) == [f"{exercises_dir / '01_toy.ipynb'} is missing: "
                                                                         "run `make exercises`"]
    generate(root)
    assert exercises.check(root / "solutions", exercises_dir) == []
    assert exercises.main(["--check", "--root", str(root)]) == 0
    edit_solution(root, "Twice x.", "Return twice x.")
    problems = exercises.check(root / "solutions", exercises_dir)
    assert len(problems) == 1 and problems[0].endswith("01_toy.ipynb differs from "
                                                       f"{root / 'solutions' / '01_toy.ipynb'}: "
                                                       "run `make exercises`")
    (exercises_dir / "03_gone.ipynb").write_text((exercises_dir / "01_toy.ipynb").read_text())
    assert exercises.main(["--check", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "01_toy.ipynb differs" in out and "03_gone.ipynb has no solution notebook" in out
    assert out.count("run `make exercises`") == 1  # the drifted notebook; the orphan has its own remedy


def test_check_tells_a_learner_edit_from_drift(root):
    generate(root)
    path = root / "exercises" / "01_toy.ipynb"
    nb = read(path)
    nb.cells[1].source = nb.cells[1].source.replace('raise NotImplementedError("Replace this line with your code")',
                                                    "return 2 * x")
    nbformat.write(nb, str(path))
    problems = exercises.check(root / "solutions", root / "exercises")
    assert len(problems) == 1 and "holds edits made after it was generated" in problems[0]
    assert read(path).cells[1].source.endswith("return 2 * x")  # checking never touches the work


def test_check_ignores_outputs(root):
    generate(root)
    path = root / "exercises" / "01_toy.ipynb"
    nb = read(path)
    nb.cells[4].outputs = [new_output("stream", name="stdout", text="ok\n")]
    nbformat.write(nb, str(path))
    assert exercises.check(root / "solutions", root / "exercises") == []


@pytest.mark.parametrize("source, error", [
    ("# BEGIN SOLUTION\nx = 1", "BEGIN SOLUTION without END SOLUTION"),
    ("x = 1\n# END SOLUTION", "line 2: END SOLUTION without BEGIN SOLUTION"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "line 2: BEGIN SOLUTION inside another region"),
])
def test_unbalanced_markers_are_reported(source, error):
    with pytest.raises(ValueError, match=error):
        exercises.strip_solutions(source)


def test_cli_reports_marker_errors(root, capsys):
    nb = solution_notebook()
    nb.cells[1].source = "# BEGIN SOLUTION\nx = 1"
    nbformat.write(nb, str(root / "solutions" / "01_toy.ipynb"))
    assert exercises.main(["--root", str(root)]) == 2
    assert "01_toy.ipynb, cell 1: BEGIN SOLUTION without END SOLUTION" in capsys.readouterr().err


def test_mixed_region_is_a_plain_stub():
    source = '# BEGIN SOLUTION\nquiz.answer("01-a", 1)\nprint("and more")\n# END SOLUTION'
    assert exercises.strip_solutions(source) == (
        '# YOUR CODE HERE\nraise NotImplementedError("Replace this line with your code")')


def test_repository_exercises_are_in_sync_with_solutions():
    solutions = {p.name for p in (REPO / "solutions").glob(exercises.PATTERN)}
    generated = {p.name for p in (REPO / "exercises").glob(exercises.PATTERN)}
    assert solutions == generated, "every solutions/NN_*.ipynb needs its exercises/ twin and vice versa"
    assert exercises.check(REPO / "solutions", REPO / "exercises") == []


def test_every_graded_item_is_used_in_its_solution_notebook():
    from course_lib.exercises import coverage

    assert coverage(REPO / "solutions") == []


def test_coverage_names_a_check_and_a_quiz_question_a_solution_forgets(tmp_path):
    import shutil

    from course_lib.exercises import coverage

    shutil.copytree(REPO / "solutions", tmp_path / "solutions")
    path = tmp_path / "solutions" / "02_l1_sparsity.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells = [c for c in nb.cells if "checks.check_l2_penalty" not in c.source and '"02-l1-effect"' not in c.source]
    nbformat.write(nb, str(path))
    problems = coverage(tmp_path / "solutions")
    assert any("has no call of `checks.check_l2_penalty`" in p for p in problems), problems
    assert any("quiz `02-l1-effect`" in p for p in problems), problems
    assert all("02_l1_sparsity" in p for p in problems)
