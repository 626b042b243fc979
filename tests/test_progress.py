"""The progress file: best result per item, atomic writes, corrupt and unwritable files."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from course_lib import progress


@pytest.fixture
def path() -> Path:
    return progress.progress_path()


def test_default_location(monkeypatch):
    monkeypatch.delenv("COURSE_PROGRESS_FILE")
    assert progress.progress_path() == Path.home() / ".sae_course" / "progress.json"


def test_empty_before_anything_is_recorded(path):
    assert not path.exists()
    assert progress.load() == {"version": 1, "lessons": {}}


def test_best_result_is_kept_and_attempts_counted(path):
    progress.record("02", "l1_penalty", False, kind="check")
    progress.record("02", "l1_penalty", True, kind="check")
    progress.record("02", "l1_penalty", False, kind="check")
    progress.record("02", "02-l1-effect", False, kind="quiz")
    entry = progress.load()["lessons"]["02"]["check"]["l1_penalty"]
    assert entry["passed"] is True and entry["attempts"] == 3
    assert "first_passed" in entry and "last_attempt" in entry
    assert progress.load()["lessons"]["02"]["quiz"]["02-l1-effect"] == {
        "passed": False, "attempts": 1, "last_attempt": entry["last_attempt"]}
    assert json.loads(path.read_text()) == progress.load()


def test_write_leaves_no_temporary_files(path):
    progress.record("02", "a", True, kind="check")
    assert sorted(p.name for p in path.parent.iterdir()) == ["progress.json"]


def test_failed_write_keeps_the_old_file_intact(path, monkeypatch, capsys):
    progress.record("02", "a", True, kind="check")
    before = path.read_text()

    def broken_dump(*args, **kwargs):
        raise RuntimeError("disk full halfway")

    monkeypatch.setattr(progress.json, "dump", broken_dump)
    progress.record("02", "b", True, kind="check")  # must not raise
    assert path.read_text() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["progress.json"]
    assert "Could not record progress for 'b': disk full halfway" in capsys.readouterr().err


def test_corrupt_file_is_moved_aside_with_a_warning(path, capsys):
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    progress.record("03", "kl_penalty", True, kind="check")
    backups = list(path.parent.glob("progress.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_text() == "{not json"
    err = capsys.readouterr().err
    assert "could not be read" in err and str(backups[0]) in err and "Starting a fresh one" in err
    assert progress.load()["lessons"]["03"]["check"]["kl_penalty"]["passed"] is True


def test_wrong_layout_counts_as_corrupt(path, capsys):
    path.parent.mkdir(parents=True)
    path.write_text("[1, 2, 3]")
    assert progress.load()["lessons"] == {}
    assert list(path.parent.glob("progress.json.corrupt-*"))
    assert "unexpected layout" in capsys.readouterr().err


def test_unwritable_location_warns_once_and_keeps_results_in_memory(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(blocker / "progress.json"))
    progress.record("02", "a", True, kind="check")
    progress.record("02", "b", False, kind="check")
    err = capsys.readouterr().err
    assert err.count("Cannot save your progress") == 1
    lessons = progress.load()["lessons"]
    assert lessons["02"]["check"]["a"]["passed"] and not lessons["02"]["check"]["b"]["passed"]


def test_bad_kind_warns_instead_of_raising(capsys):
    progress.record("02", "a", True, kind="exam")
    assert "kind must be one of" in capsys.readouterr().err
    assert progress.load()["lessons"] == {}




def test_two_processes_recording_at_once_keep_every_result(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "shared" / "progress.json"
    code = ("import sys\nfrom course_lib import progress\n"
            "for i in range(200):\n    progress.record('01', f'{sys.argv[1]}-{i}', i % 2 == 0, kind='check')\n")
    env = dict(os.environ, COURSE_PROGRESS_FILE=str(path))
    procs = [subprocess.Popen([sys.executable, "-c", code, name], env=env, cwd=Path(__file__).parents[1])
             for name in ("a", "b")]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    checks = json.loads(path.read_text())["lessons"]["01"]["check"]
    assert len(checks) == 400
    assert sum(entry["passed"] for entry in checks.values()) == 200


def test_binary_junk_is_set_aside_and_summary_still_prints(path, capsys):
    from course_lib import course

    path.parent.mkdir(parents=True)
    junk = bytes(range(256)) * 4
    path.write_bytes(junk)
    table = course.summary("02")  # must not raise
    assert table["02"]["check"]["passed"] == 0
    backups = list(path.parent.glob("progress.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == junk
    assert "not UTF-8" in capsys.readouterr().err
    progress.record("02", "l1_penalty", True, kind="check")
    assert progress.load()["lessons"]["02"]["check"]["l1_penalty"]["passed"] is True


def test_wrong_shape_keeps_the_good_entries_and_recording_works_again(path, capsys):
    path.parent.mkdir(parents=True)
    good = {"passed": True, "attempts": 2}
    original = json.dumps({"version": 1, "lessons": {"02": [], "03": {"check": {"kl": good, "bad": 7}}}})
    path.write_text(original)
    progress.record("02", "l1_penalty", True, kind="check")
    lessons = progress.load()["lessons"]
    assert lessons["02"]["check"]["l1_penalty"]["passed"] is True
    assert lessons["03"]["check"] == {"kl": good}
    backups = list(path.parent.glob("progress.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_text() == original
    err = capsys.readouterr().err
    assert "lesson '02' is not a table" in err and "entry 'bad' is malformed" in err and "1 well-formed" in err


def test_an_unreadable_path_is_set_aside_not_overwritten(path, capsys):
    path.mkdir(parents=True)  # a folder where the file should be: reading fails with an OSError
    (path / "inside.txt").write_text("keep me")
    progress.record("02", "a", True, kind="check")
    backups = list(path.parent.glob("progress.json.corrupt-*"))
    assert len(backups) == 1 and (backups[0] / "inside.txt").read_text() == "keep me"
    assert progress.load()["lessons"]["02"]["check"]["a"]["passed"] is True
    assert "IsADirectoryError" in capsys.readouterr().err


def test_corrupt_files_set_aside_in_the_same_second_keep_separate_backups(path):
    path.parent.mkdir(parents=True)
    for n in range(3):
        path.write_text(f"{{broken {n}")
        progress.load()
    backups = sorted(p.read_text() for p in path.parent.glob("progress.json.corrupt-*"))
    assert backups == ["{broken 0", "{broken 1", "{broken 2"]


def test_a_file_fixed_by_another_kernel_meanwhile_is_not_set_aside(path):
    path.parent.mkdir(parents=True)
    path.write_text("{broken")
    assert progress._set_aside(path, b"{something else", "test") is False
    assert path.read_text() == "{broken"

