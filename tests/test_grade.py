"""Grading handed-in notebooks: each kind of submission, graded by re-running it.

A small synthetic lesson ("00", with two checks in a module written here and the two real quiz
questions of lesson 00) goes through the real pipeline: a solution notebook with markers, the
exercise generator, submissions made by filling the generated stubs in, and
``python -m course_lib.grade`` in a subprocess. A last test does the same with a real lesson
of the course when one exists.
"""
from __future__ import annotations

import ast
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import processes_with
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_lib import exercises, grade, progress, quiz

REPO = Path(__file__).resolve().parent.parent
STUB = 'raise NotImplementedError("Replace this line with your code")'

TOY_CHECKS = '''
"""Checks of a synthetic lesson used by the grading tests."""
import torch
from course_lib.checks.core import Case, Mistake, check, rand


@check("00", reference=lambda x: 2 * x, mistakes=[Mistake("You added 2 instead of doubling.", lambda x: x + 2)])
def check_double():
    return [Case("vector", lambda: (rand(5, seed=0),)), Case("matrix", lambda: (rand(3, 4, seed=1),))]


@check("00", reference=lambda z: z.abs().sum(dim=1).mean(),
       mistakes=[Mistake("You forgot the absolute value.", lambda z: z.sum(dim=1).mean())])
def check_row_l1():
    return [Case("batch of 4", lambda: (rand(4, 6, seed=2),))]
'''

SOLUTION_CELLS = [
    ("md", "# 00 · A toy lesson\n\nTwo functions and two quiz questions."),
    ("code", "import torch\nfrom course_lib import course, quiz\nimport toy_checks as checks"),
    ("code", 'def double(x):\n    """Twice x."""\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION'),
    ("code", "checks.check_double(double)"),
    ("code", 'def row_l1(z):\n    """Mean over rows of the L1 norm of each row."""\n'
             "    # BEGIN SOLUTION\n    return z.abs().sum(dim=1).mean()\n    # END SOLUTION"),
    ("code", "checks.check_row_l1(row_l1)"),
    ("code", '# BEGIN SOLUTION\nquiz.answer("00-device-order", "b")\n# END SOLUTION'),
    ("code", '# BEGIN SOLUTION\nquiz.answer("00-device-variable", "COURSE_DEVICE")\n# END SOLUTION'),
    ("code", "course.summary()"),
]
GOOD = {"double": "return 2 * x", "row_l1": "return z.abs().sum(dim=1).mean()"}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The toy lesson's checks module, its generated exercise notebook and a folder for submissions."""
    root = tmp_path_factory.mktemp("toy")
    (root / "toy_checks.py").write_text(TOY_CHECKS)
    cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in SOLUTION_CELLS]
    solution = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                  "display_name": "Python 3"}})
    exercise = exercises.make_exercise(solution, "solutions/00_toy.ipynb")
    (root / "exercises").mkdir()
    nbformat.write(exercise, str(root / "exercises" / "00_toy.ipynb"))
    (root / "subs").mkdir()
    return root


def stubbed(nb, name: str) -> int:
    """Index of the cell defining ``name`` (its body is the generated stub)."""
    return next(i for i, c in enumerate(nb.cells) if c.source.startswith(f"def {name}("))


def submission(toy: Path, filename: str, code: dict[str, str] | None = None,
               answers: dict[str, str] | None = None, insert: dict[int, str] | None = None) -> Path:
    """The generated exercise with stubs filled in, quiz lines answered and extra cells inserted."""
    nb = nbformat.read(str(toy / "exercises" / "00_toy.ipynb"), as_version=4)
    for name, body in (code or {}).items():
        cell = nb.cells[stubbed(nb, name)]
        cell.source = cell.source.replace("# YOUR CODE HERE\n    " + STUB, body)
    for qid, expr in (answers or {}).items():
        for cell in nb.cells:
            cell.source = cell.source.replace(f'quiz.answer("{qid}", None)', f'quiz.answer("{qid}", {expr})')
    for index, source in sorted((insert or {}).items(), reverse=True):
        nb.cells.insert(index, new_code_cell(source))
    path = toy / "subs" / filename
    nbformat.write(nb, str(path))
    return path


def run_grader(args: list[str], extra_path: Path | None = None, timeout: int = 900):
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run([sys.executable, "-m", "course_lib.grade", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=str(extra_path or REPO))


def read_gradebook(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return {Path(row["file"]).name: row for row in csv.DictReader(f)}


# ---------------------------------------------------------------- the generated hand-in lines


def test_the_exercise_has_a_form_and_a_hand_in_line_per_question(toy):
    nb = nbformat.read(str(toy / "exercises" / "00_toy.ipynb"), as_version=4)
    quiz_cells = [c.source for c in nb.cells if "quiz.ask" in c.source]
    assert quiz_cells == [
        'quiz.ask("00-device-order")\n'
        'quiz.answer("00-device-order", None);  # for a graded hand-in: replace None with your answer',
        'quiz.ask("00-device-variable")\n'
        'quiz.answer("00-device-variable", None);  # for a graded hand-in: replace None with your answer',
    ]


def test_an_unanswered_hand_in_line_is_silent_and_records_nothing(capsys, monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")  # not even strict mode objects
    assert quiz.answer("00-device-order", None) is False
    assert capsys.readouterr().out == ""
    assert progress.load()["lessons"] == {}
    with pytest.raises(quiz.UnknownQuestion):  # a mistyped id is still reported
        quiz.answer("00-device-ordr", None)


def test_answers_are_read_from_the_last_top_level_line(toy):
    nb = new_notebook(cells=[
        new_code_cell('quiz.answer("00-device-order", "a")\nquiz.answer("00-device-order", "b")'),
        new_code_cell('%matplotlib inline\nquiz.answer("00-device-variable", "course_" + "device")'),
        new_code_cell('def f():\n    quiz.answer("00-device-order", "c")'),
        new_code_cell('quiz.answer("01-other-lesson", "x")\nthis is not python'),
    ])
    found = grade.quiz_answers(nb, ["00-device-order", "00-device-variable"])
    assert found == {"00-device-order": ("value", "b"),
                     "00-device-variable": ("expr", "'course_' + 'device'")}
    nb.cells.append(new_code_cell('quiz.answer("00-device-order", None)'))
    assert "00-device-order" not in grade.quiz_answers(nb, ["00-device-order"])


def test_static_scan_finds_replaced_checks_and_progress_writes():
    nb = new_notebook(cells=[
        new_code_cell("from course_lib import checks as c\nimport course_lib.progress as pg"),
        new_code_cell("c.check_double = lambda f: True"),
        new_code_cell("setattr(quiz, 'grade', lambda q, r: True)"),
        new_code_cell("pg.record('00', 'double', True, kind='check')"),
        new_code_cell("open(os.environ['COURSE_PROGRESS_FILE'], 'w').write('{}')"),
        new_code_cell("checks.check_double(double)\nx = course.summary()\nmy.value = 3"),
    ])
    assert grade.static_tampering(nb) == [
        "cell 2 replaces `c.check_double`",
        "cell 3 calls `setattr` on `quiz`",
        "cell 4 calls `pg.record`",
        "cell 5 mentions the progress file ('COURSE_PROGRESS_FILE')",
    ]


def test_lesson_is_detected_from_metadata_then_file_name():
    nb = new_notebook(metadata={"course": {"generated_from": "solutions/03_kl.ipynb"}})
    assert grade.detect_lesson(nb, Path("alice.ipynb")) == "03"
    assert grade.detect_lesson(new_notebook(), Path("bob_05_topk.ipynb")) == "05"
    assert grade.detect_lesson(new_notebook(), Path("homework.ipynb")) is None


# ---------------------------------------------------------------- the whole pipeline, one batch


@pytest.fixture(scope="module")
def graded(toy):
    """Every kind of submission, graded in one run of the command line tool."""
    right = {"00-device-order": '"b"', "00-device-variable": '"COURSE_DEVICE"'}
    subs = [
        submission(toy, "00_perfect.ipynb", GOOD, right),
        submission(toy, "00_blank.ipynb"),
        submission(toy, "00_partial.ipynb", {"double": "return 2 * x", "row_l1": "return z.sum(dim=1).mean()"},
                   {"00-device-order": '"a"', "00-device-variable": '"course_" + "device"'}),
        submission(toy, "00_raises.ipynb", GOOD, right, insert={4: 'raise RuntimeError("boom")'}),
        submission(toy, "00_loops.ipynb", {"double": "while True:\n        pass", "row_l1": GOOD["row_l1"]}),
        submission(toy, "00_tamper_checks.ipynb", {"double": "return x + 2", "row_l1": GOOD["row_l1"]},
                   insert={3: "checks.check_double = lambda f: True"}),
        submission(toy, "00_tamper_progress.ipynb", {"double": "return x + 2"}, insert={9: (
            "import json, os\n"
            "fake = {'version': 1, 'lessons': {'00': {'check': {'double': {'passed': True}, 'row_l1': {'passed': True}},\n"
            "        'quiz': {'00-device-order': {'passed': True}}}}}\n"
            "with open(os.environ['COURSE_PROGRESS_FILE'], 'w') as f:\n"
            "    json.dump(fake, f)")}),
        submission(toy, "00_reference.ipynb", {"double": "return 2 * x"},
                   insert={5: "from course_lib import sparsity\nrow_l1 = sparsity.l1_penalty"}),
        submission(toy, "00_dies.ipynb", GOOD, right, insert={2: "import os\nos._exit(1)"}),
    ]
    (toy / "subs" / "00_broken.ipynb").write_text('{"cells": [ this is not json')
    (toy / "subs" / "homework.ipynb").write_text(json.dumps(nbformat.v4.new_notebook(), indent=1))
    out = toy / "gradebook.csv"
    proc = run_grader([*map(str, subs), str(toy / "subs" / "00_broken.ipynb"), str(toy / "subs" / "homework.ipynb"),
                       "--out", str(out), "--checks-module", "toy_checks",
                       "--reference", str(toy / "exercises" / "00_toy.ipynb"),
                       "--cell-timeout", "10", "--check-timeout", "3"], extra_path=toy)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return read_gradebook(out), proc.stdout


def test_gradebook_has_one_column_per_item(graded):
    book, _ = graded
    first = next(iter(book.values()))
    assert list(first) == ["file", "lesson", "status", "double", "row_l1", "00-device-order",
                           "00-device-variable", "checks", "quiz", "score", "notes", "isolation", "sha256"]
    assert {row["isolation"] for row in book.values()} == {"sandbox"}
    assert len(book) == 11


def test_a_correct_submission_gets_full_marks(graded):
    row = graded[0]["00_perfect.ipynb"]
    assert (row["lesson"], row["status"], row["double"], row["row_l1"]) == ("00", "ok", "1", "1")
    assert (row["00-device-order"], row["00-device-variable"]) == ("1", "1")
    assert (row["checks"], row["quiz"], row["score"], row["notes"]) == ("2/2", "2/2", "100.0", "")


def test_an_untouched_exercise_scores_zero_without_problems(graded):
    row = graded[0]["00_blank.ipynb"]
    assert (row["status"], row["checks"], row["quiz"], row["score"]) == ("ok", "0/2", "0/2", "0.0")
    assert "double: not_implemented" in row["notes"]
    assert "00-device-order: not answered" in row["notes"]


def test_wrong_code_and_answers_are_marked_and_computed_answers_are_evaluated(graded):
    row = graded[0]["00_partial.ipynb"]
    assert (row["double"], row["row_l1"], row["00-device-order"], row["00-device-variable"]) == ("1", "0", "0", "1")
    assert row["score"] == "50.0" and row["status"] == "ok"
    assert "row_l1: fail: You forgot the absolute value." in row["notes"]


def test_a_notebook_that_raises_is_still_graded(graded):
    row = graded[0]["00_raises.ipynb"]
    assert row["status"] == "errors" and row["score"] == "100.0"
    assert "cell 5 (raise RuntimeError(\"boom\")) raised RuntimeError: boom" in row["notes"]


def test_an_endless_loop_is_interrupted_and_the_rest_graded(graded):
    row = graded[0]["00_loops.ipynb"]
    assert row["status"] == "errors", row["notes"]
    assert (row["double"], row["row_l1"]) == ("0", "1")
    assert "cell 4 (checks.check_double(double)) ran longer than 10 s and was interrupted" in row["notes"]
    assert "double: timeout: did not finish within 3.0 s" in row["notes"]


def test_replacing_a_check_is_flagged_and_does_not_help(graded):
    row = graded[0]["00_tamper_checks.ipynb"]
    assert row["status"] == "tampering" and row["double"] == "0" and row["row_l1"] == "1"
    assert "cell 4 replaces `checks.check_double`" in row["notes"]
    assert "toy_checks.check_double was replaced" in row["notes"]
    assert "double: fail: You added 2 instead of doubling." in row["notes"]


def test_writing_the_progress_file_is_flagged_and_does_not_help(graded):
    row = graded[0]["00_tamper_progress.ipynb"]
    assert row["status"] == "tampering" and row["score"] == "0.0"
    assert "its progress file says double passed, but the official re-run says no" in row["notes"]
    assert "its progress file says 00-device-order passed, but the official re-run says no" in row["notes"]
    assert "mentions the progress file ('COURSE_PROGRESS_FILE')" in row["notes"]


def test_handing_in_the_reference_implementation_is_flagged(graded):
    row = graded[0]["00_reference.ipynb"]
    assert row["status"] == "tampering" and row["row_l1"] == "0" and row["double"] == "1"
    assert "row_l1 is the course's reference implementation" in row["notes"]


def test_unreadable_unknown_and_crashing_notebooks_get_a_reason(graded):
    book, stdout = graded
    broken, unknown, dies = book["00_broken.ipynb"], book["homework.ipynb"], book["00_dies.ipynb"]
    assert broken["status"] == unknown["status"] == dies["status"] == "not graded"
    assert broken["score"] == broken["double"] == ""
    assert broken["notes"].startswith("not a valid notebook (NotJSONError")
    assert unknown["notes"].startswith("cannot tell which lesson this is")
    assert "the kernel died" in dies["notes"]
    for name in ("00_perfect.ipynb", "00_broken.ipynb", "homework.ipynb"):  # the summary names them all
        assert name in stdout


def test_kernels_graded_at_once_share_the_cores_between_their_threads(toy, tmp_path):
    """Each of ``--jobs`` kernels gets cores // jobs threads (one at least): without it two kernels
    on two cores run four busy threads and grading is over twice as slow as one at a time."""
    from course_lib.grade.sandbox import kernel_threads

    assert [kernel_threads(j, cores=4) for j in (1, 2, 3, 4, 8)] == [4, 2, 1, 1, 1]
    path = submission(toy, "00_threads.ipynb", GOOD, insert={2: (
        "import os, torch\nprint('threads', torch.get_num_threads(), os.environ.get('OMP_NUM_THREADS'))")})
    executed = tmp_path / "executed"
    proc = run_grader([str(path), "--jobs", "2", "--out", str(tmp_path / "book.csv"), "--executed", str(executed),
                       "--checks-module", "toy_checks", "--reference", str(toy / "exercises" / "00_toy.ipynb")],
                      extra_path=toy)
    assert proc.returncode == 0, proc.stderr[-3000:]
    nb = nbformat.read(str(next(executed.glob("*.ipynb"))), as_version=4)
    printed = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    n = kernel_threads(2)
    assert printed.strip() == f"threads {n} {n}"


# ---------------------------------------------------------------- a real lesson of the course


def _real_lessons() -> list[Path]:
    """Every lesson with checks whose solution and exercise notebooks both exist."""
    from course_lib.checks.core import registered

    import course_lib.checks  # noqa: F401  (registers the lessons' checks)

    return [path for path in sorted((REPO / "exercises").glob(exercises.PATTERN))
            if path.name[:2] in registered() and (REPO / "solutions" / path.name).exists()]


def test_every_lesson_with_checks_has_its_notebooks():
    assert [p.name[:2] for p in _real_lessons()] == ["01", "02", "03", "04", "05", "06", "07", "08"]


def _solved(exercise: Path) -> nbformat.NotebookNode:
    """The learner's copy with every blank filled in from the solution."""
    return exercises.filled_in(nbformat.read(str(exercise), as_version=4),
                               nbformat.read(str(REPO / "solutions" / exercise.name), as_version=4))


@pytest.fixture(scope="module")
def real_lessons_graded(tmp_path_factory):
    """What a learner does, for every lesson: hand in the untouched exercise, then the one with
    every blank filled; all of them graded in one run, two kernels at a time."""
    root = tmp_path_factory.mktemp("real")
    (root / "blank").mkdir()
    (root / "solved").mkdir()
    for exercise in _real_lessons():
        (root / "blank" / exercise.name).write_bytes(exercise.read_bytes())
        nbformat.write(_solved(exercise), str(root / "solved" / exercise.name))
    out = root / "book.csv"
    proc = run_grader([str(root / "blank"), str(root / "solved"), "--jobs", "2", "--out", str(out)], timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, newline="", encoding="utf-8") as f:
        return {(Path(r["file"]).parent.name, Path(r["file"]).name): r for r in csv.DictReader(f)}


@pytest.mark.parametrize("exercise", _real_lessons(), ids=lambda p: p.name[:2])
def test_a_real_lesson_blank_scores_zero_and_solved_scores_full(exercise, real_lessons_graded):
    blank, solved = (real_lessons_graded[kind, exercise.name] for kind in ("blank", "solved"))
    assert [blank["status"], solved["status"]] == ["ok", "ok"], [blank["notes"], solved["notes"]]
    assert blank["score"] == "0.0" and solved["score"] == "100.0", solved["notes"]
    from course_lib.checks.core import registered

    n_checks = len(registered()[exercise.name[:2]])
    assert solved["checks"] == f"{n_checks}/{n_checks}"


def test_the_cells_sent_to_the_kernel_are_one_line_calls_of_the_in_kernel_module():
    from course_lib.grade import inkernel, submission

    params = {"snapshot_key": "_k", "module_roots": ["course_lib"], "checks": [["double", "check_double", ["x"]]],
              "check_timeout": float("inf"), "quiz_exprs": [["q", "'a' + \"b\""]]}
    for entry in ("prologue", "epilogue"):
        cell = submission.kernel_cell(entry, params)
        assert "\n" not in cell and callable(getattr(inkernel, entry))
        ast.parse(cell)
        assert str(submission.INKERNEL) in cell and repr(json.dumps(params)) in cell


# ---------------------------------------------------------------- no kernel outlives its notebook


SLEEPER = ("import signal, subprocess, sys\n"
           "sleeper = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
           "signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)', {marker!r}], start_new_session=True)")
ENDINGS = {
    "ok": "x = 1",
    "raises": 'raise RuntimeError("boom")',
    "hangs": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
}


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
@pytest.mark.parametrize("ending", list(ENDINGS))
def test_grading_a_notebook_leaves_no_kernel_or_kernel_child_running(toy, monkeypatch, ending):
    """The kernel, and what it started (even in a session of its own), are gone once a notebook
    is graded, however its run ended."""
    from course_lib.checks import core

    monkeypatch.setattr(core.REGISTRY, "_checks", dict(core.REGISTRY._checks))  # toy_checks registers lesson 00
    monkeypatch.syspath_prepend(str(toy))  # the grader imports toy_checks here, the kernel via PYTHONPATH
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(toy), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    marker = f"course-test-sleeper-{ending}-{os.getpid()}"
    path = submission(toy, f"00_leak_{ending}.ipynb", GOOD,
                      insert={2: SLEEPER.format(marker=marker), 3: ENDINGS[ending]})
    try:
        row = grade.grade_notebook(path, checks_module="toy_checks", reference=toy / "exercises" / "00_toy.ipynb",
                                   cell_timeout=5, check_timeout=3)
    finally:
        sys.modules.pop("toy_checks", None)
    assert processes_with(marker) == []
    assert processes_with(str(path.parent.parent)) == []  # no kernel of this toy course either
    assert row.status == {"ok": "ok", "raises": "errors", "hangs": "not graded"}[ending], row.notes
