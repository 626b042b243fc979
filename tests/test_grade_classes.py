"""Grading a class: file names and folders, resuming, feedback, the gradebook on disk, and
grading without the sandbox. Uses the toy lesson of ``tests/test_grade.py``."""
from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from course_lib.grade import gradebook
from course_lib.grade.gradebook import Journal, Row
import test_grade
from test_grade import GOOD, run_grader, submission

RIGHT = {"00-device-order": '"b"', "00-device-variable": '"COURSE_DEVICE"'}
SLEEP = "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}], start_new_session=True)"


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The toy lesson of tests/test_grade.py, made afresh for this module."""
    return test_grade.toy.__wrapped__(tmp_path_factory)


def toy_args(toy: Path) -> list[str]:
    return ["--checks-module", "toy_checks", "--reference", str(toy / "exercises" / "00_toy.ipynb"),
            "--cell-timeout", "10", "--check-timeout", "3", "--jobs", "2"]


def rows_of(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def klass(toy):
    """A class folder: one name in two folders, a name that is not UTF-8, the same content twice."""
    root = toy / "class"
    for folder in ("a", "b"):
        (root / folder).mkdir(parents=True)
    perfect = submission(toy, "00_same.ipynb", GOOD, RIGHT)
    shutil.move(perfect, root / "a" / "00_same.ipynb")
    blank = submission(toy, "00_blank_b.ipynb")
    shutil.move(blank, root / "b" / "00_same.ipynb")
    odd = os.fsdecode(bytes(root / "b") + b"/00_caf\xe9.ipynb")  # Latin-1 bytes in the name
    shutil.copyfile(root / "a" / "00_same.ipynb", odd)
    out = toy / "class-book.csv"
    args = [str(root), str(root / "a" / "00_same.ipynb"), str(toy / "nope" / "00_missing.ipynb"),
            "--recursive", "--out", str(out), "--feedback", str(toy / "feedback"), *toy_args(toy)]
    first = run_grader(args, extra_path=toy)
    second = run_grader(args, extra_path=toy)  # nothing changed: nothing is graded again
    return dict(root=root, out=out, first=first, second=second, feedback=toy / "feedback")


def test_every_file_gets_a_clear_row(klass):
    assert klass["first"].returncode == 0, klass["first"].stderr[-3000:]
    rows = {r["file"]: r for r in rows_of(klass["out"])}
    root = klass["root"]
    a, b = rows[str(root / "a" / "00_same.ipynb")], rows[str(root / "b" / "00_same.ipynb")]
    assert (a["score"], b["score"]) == ("100.0", "0.0")
    odd = rows[str(root / "b") + "/00_caf\\xe9.ipynb"]  # the byte escaped, the row there
    assert odd["score"] == "100.0"
    assert f"same content as {root / 'b'}/00_caf\\xe9.ipynb" in a["notes"]
    missing = next(r for f, r in rows.items() if f.endswith("00_missing.ipynb"))
    assert missing["status"] == "not graded" and missing["notes"].startswith("no such file (is the path mistyped?)")
    assert len(rows) == 4
    assert "00_same.ipynb is listed more than once: graded once" in klass["first"].stderr
    assert "a/00_same.ipynb" in klass["first"].stdout and "b/00_same.ipynb" in klass["first"].stdout


def test_a_rerun_skips_what_is_graded_already(klass):
    assert klass["second"].returncode == 0, klass["second"].stderr[-3000:]
    assert "3 of 4 files are graded already with the same content" in klass["second"].stderr
    assert [r["score"] for r in rows_of(klass["out"])] == ["100.0", "100.0", "0.0", ""]


def test_feedback_names_each_item_without_the_solution(klass):
    names = sorted(p.name for p in klass["feedback"].iterdir())
    assert names == ["a__00_same.md", "b__00_caf\\xe9.md", "b__00_same.md", "nope__00_missing.md"]
    blank = (klass["feedback"] / "b__00_same.md").read_text(encoding="utf-8")
    assert "Score: **0%**" in blank
    assert "- ❌ `double`: not_implemented" in blank
    assert "- ❌ `00-device-order`" in blank and "not answered" in blank
    perfect = (klass["feedback"] / "a__00_same.md").read_text(encoding="utf-8")
    assert "- ✅ `row_l1`" in perfect and "- ✅ `00-device-variable`" in perfect
    from course_lib import quiz

    secrets = ["z.abs().sum(dim=1).mean()", "2 * x"] + [quiz.get(q)["explanation"][:40] for q in RIGHT]
    for text in (blank, perfect):
        assert [s for s in secrets if s in text] == []  # no solution code, no explanation of an answer


def test_the_journal_keeps_rows_of_a_stopped_run_and_the_gradebook_is_replaced_whole(tmp_path):
    out = tmp_path / "book.csv"
    journal = Journal(out)
    journal.add(Row(file="x.ipynb", lesson="00", checks={"double": 1}, sha256="aa"))
    with open(journal.path, "a") as f:
        f.write('{"file": "half a line')  # the grader was killed while writing
    again = Journal(out)  # the next run: the row graded before the crash is there
    assert list(again.previous) == [("x.ipynb", "aa")]
    rows = [again.previous[("x.ipynb", "aa")], Row(file="y.ipynb", lesson="00", checks={"double": 0}, sha256="bb")]
    again.finish(rows)
    assert not again.path.exists()
    assert [r["score"] for r in rows_of(out)] == ["100.0", "0.0"]
    assert list(Journal(out).previous) == [("x.ipynb", "aa"), ("y.ipynb", "bb")]  # read back from the CSV


def test_a_link_in_place_of_the_gradebook_is_refused_or_replaced(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "book.csv"
    link.symlink_to(target)
    with pytest.raises(FileExistsError, match="symbolic link"):
        Journal(link)
    link.unlink()
    journal = Journal(link)
    link.symlink_to(target)  # put there while grading
    journal.finish([Row(file="x.ipynb")])
    assert target.read_text() == "keep me" and not link.is_symlink()


def test_names_for_the_summary_tell_folders_apart():
    assert gradebook.short_names(["s/a/n.ipynb", "s/b/n.ipynb", "s/b/m.ipynb"]) == ["a/n.ipynb", "b/n.ipynb", "b/m.ipynb"]


def test_without_the_sandbox_grading_runs_under_limits_and_says_so(toy):
    marker = f"course-test-nosandbox-{os.getpid()}"
    perfect = submission(toy, "00_nosandbox_ok.ipynb", GOOD, RIGHT)
    killer = submission(toy, "00_nosandbox_killer.ipynb", GOOD, RIGHT,
                        insert={2: SLEEP.format(marker=marker), 3: "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"})
    out = toy / "nosandbox.csv"
    proc = run_grader([str(perfect), str(killer), "--out", str(out), "--no-sandbox", *toy_args(toy)], extra_path=toy)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ok, killed = rows_of(out)
    assert (ok["status"], ok["score"], ok["isolation"]) == ("ok", "100.0", "rlimits only"), ok["notes"]
    assert "graded WITHOUT a sandbox (--no-sandbox was given)" in ok["notes"]
    assert killed["status"] == "not graded" and "the kernel died" in killed["notes"]
    assert "WARNING: graded WITHOUT a sandbox" in proc.stdout
    from test_grade import processes_with

    assert processes_with(marker) == []
