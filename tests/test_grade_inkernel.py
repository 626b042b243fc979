"""The grader's in-kernel code, called directly in this process (no kernel).

The module roots used here are throw-away modules written to ``tmp_path``, never ``course_lib``:
:func:`inkernel.grade` drops every loaded module under its roots from ``sys.modules``.
"""
from __future__ import annotations

import ast
import json
import sys
import time
import types
from pathlib import Path

import pytest

from course_lib import sparsity
from course_lib.grade import inkernel, submission
from course_lib.grade.spec import LIBRARY_DIR

LIBRARY = str(LIBRARY_DIR)

FAKE_CHECKS = '''
"""Checks of a made-up lesson: pass when f(2) == 4."""
import time


class Result:
    def __init__(self, passed):
        self.passed, self.status, self.message = passed, "pass" if passed else "fail", "f(2) is not 4"


def helper():
    return 1


def check_f(f):
    print("noise the check prints")
    return Result(f(2) == 4)


def check_slow(f):
    time.sleep(30)
'''


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    """A package ``fakecourse_<n>`` with a ``checks`` module on ``sys.path``; removed afterwards."""
    name = f"fakecourse_{tmp_path.name.replace('-', '_')}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "checks.py").write_text(FAKE_CHECKS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for n in [n for n in sys.modules if inkernel.is_ours(n, [name])]:
        del sys.modules[n]


def params(root: str, tmp_path: Path, **changes) -> dict:
    base = {"module_roots": [root], "checks_module": f"{root}.checks", "snapshot_key": f"_key_{root}",
            "progress_file": str(tmp_path / "official.json"), "result_mime": submission.RESULT_MIME, "result_marker": "marker:",
            "library_dir": LIBRARY, "check_timeout": 5, "checks": [["f", "check_f", ["f"]]], "quiz_exprs": []}
    return {**base, **changes}


@pytest.fixture
def shown(monkeypatch):
    """What the epilogue shows in the kernel (its result), as the grader receives it."""
    import IPython.display

    outputs = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda data, raw=False: outputs.append({"output_type": "display_data", "data": data}))
    return outputs


def square(x):
    return x * x


# ---------------------------------------------------------------- the module itself


def test_it_imports_only_the_standard_library():
    """It is loaded into the learner's kernel before the course modules are purged."""
    tree = ast.parse(Path(inkernel.__file__).read_text(encoding="utf-8"))

    def imported(nodes) -> set[str]:
        names = set()
        for node in nodes:
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names.add((node.module or "").split(".")[0])
        return names

    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    assert imported(tree.body) <= stdlib
    assert imported(ast.walk(tree)) <= stdlib | {"IPython"}  # IPython only inside epilogue()


def test_is_ours_matches_roots_and_submodules_only():
    assert inkernel.is_ours("course_lib", ["course_lib"])
    assert inkernel.is_ours("course_lib.checks.core", ["course_lib"])
    assert not inkernel.is_ours("course_library", ["course_lib"])
    assert not inkernel.is_ours("toy", ["course_lib", "toy_checks"])


# ---------------------------------------------------------------- snapshot and its comparison


def test_snapshot_records_functions_and_methods_of_the_roots_modules(fake_root):
    record = inkernel.snapshot([fake_root], [f"{fake_root}.checks"])
    checks = sys.modules[f"{fake_root}.checks"]
    assert set(record) == {fake_root, f"{fake_root}.checks"}
    assert set(record[f"{fake_root}.checks"]) == {"helper", "check_f", "check_slow", "Result.__init__"}
    assert record[f"{fake_root}.checks"]["check_f"] == (checks.check_f, checks.check_f.__code__)
    assert inkernel.replaced(record, {n: sys.modules[n] for n in record}) == []


def test_replaced_functions_methods_code_and_modules_are_reported(fake_root):
    record = inkernel.snapshot([fake_root], [f"{fake_root}.checks"])
    checks = sys.modules[f"{fake_root}.checks"]
    checks.check_f = lambda f: True
    checks.helper.__code__ = (lambda: 2).__code__
    checks.Result.__init__ = lambda self, passed: None
    assert inkernel.replaced(record, {f"{fake_root}.checks": checks}) == [
        f"{fake_root}.checks.Result.__init__ was replaced",  # in the order the module defines them
        f"{fake_root}.checks.helper was replaced",
        f"{fake_root}.checks.check_f was replaced",
    ]
    gone = inkernel.replaced(record, {})  # the module itself was swapped out of sys.modules
    assert f"{fake_root}.checks.check_slow was replaced" in gone


def test_the_snapshot_is_kept_under_its_key_and_taken_once(fake_root):
    inkernel.install_snapshot("_test_key", [fake_root], [f"{fake_root}.checks"])
    assert isinstance(sys.modules["_test_key"], types.ModuleType)
    record = inkernel.take_snapshot("_test_key")
    assert f"{fake_root}.checks" in record and "_test_key" not in sys.modules
    assert inkernel.take_snapshot("_test_key") is None
    sys.modules["_test_key"] = types.SimpleNamespace(snapshot="forged")
    assert inkernel.take_snapshot("_test_key") is None


def test_purge_drops_only_the_roots_modules(fake_root):
    import importlib

    importlib.import_module(f"{fake_root}.checks")
    old = inkernel.purge([fake_root])
    assert set(old) == {fake_root, f"{fake_root}.checks"}
    assert not any(inkernel.is_ours(n, [fake_root]) for n in sys.modules)
    assert "course_lib.grade.inkernel" in sys.modules


# ---------------------------------------------------------------- what the notebook defined


def test_from_library_tells_course_code_from_the_notebooks():
    assert inkernel.from_library(sparsity.l1_penalty, LIBRARY)
    assert not inkernel.from_library(square, LIBRARY)
    assert not inkernel.from_library(len, LIBRARY) and not inkernel.from_library(3, LIBRARY)


def test_own_definitions_flags_check_functions_the_notebook_wrote():
    checks = [["f", "check_f", ["f"]], ["g", "check_g", ["g"]], ["h", "check_h", ["h"]]]
    ns = {"check_f": square, "check_g": sparsity.l1_penalty}
    assert inkernel.own_definitions(ns, checks, LIBRARY) == ["the notebook defines its own check_f"]


# ---------------------------------------------------------------- running checks and answers


def test_time_limit_interrupts_and_restores_the_alarm():
    import signal

    previous = signal.getsignal(signal.SIGALRM)
    start = time.monotonic()
    with pytest.raises(inkernel.GradingTimeout):
        with inkernel.time_limit(0.2):
            while True:
                pass
    assert time.monotonic() - start < 5
    assert signal.getsignal(signal.SIGALRM) is previous
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with inkernel.time_limit(5):
        pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_run_check_passes_fails_and_explains(fake_root, capsys):
    import importlib

    checks = importlib.import_module(f"{fake_root}.checks")
    ns = {"f": square, "wrong": lambda x: x + 1}
    entry, reference = inkernel.run_check(checks.check_f, "check_f", ["f"], ns, 5, LIBRARY)
    assert (entry, reference) == ({"passed": True, "status": "pass", "message": "f(2) is not 4"}, False)
    assert capsys.readouterr().out == ""  # what the check prints is swallowed
    entry, _ = inkernel.run_check(checks.check_f, "check_f", ["wrong"], ns, 5, LIBRARY)
    assert (entry["passed"], entry["status"]) == (False, "fail")
    entry, _ = inkernel.run_check(checks.check_f, "check_f", ["undefined_name"], ns, 5, LIBRARY)
    assert entry["status"] == "missing" and "undefined_name" in entry["message"]
    entry, _ = inkernel.run_check(checks.check_f, "check_f", ["1 / 0"], ns, 5, LIBRARY)
    assert entry == {"passed": False, "status": "error", "message": "ZeroDivisionError: division by zero"}
    entry, _ = inkernel.run_check(None, "check_f", ["f"], ns, 5, LIBRARY)
    assert entry["message"] == "the course has no check_f"
    entry, _ = inkernel.run_check(checks.check_f, "check_f", ["None"], ns, 5, LIBRARY)
    assert entry["status"] == "error" and entry["message"].startswith("TypeError")


def test_run_check_times_out_and_refuses_the_reference(fake_root):
    import importlib

    checks = importlib.import_module(f"{fake_root}.checks")
    entry, _ = inkernel.run_check(checks.check_slow, "check_slow", ["f"], {"f": square}, 0.3, LIBRARY)
    assert entry == {"passed": False, "status": "timeout", "message": "did not finish within 0.3 s"}
    entry, reference = inkernel.run_check(checks.check_f, "check_f", ["f"], {"f": sparsity.l1_penalty}, 5, LIBRARY)
    assert reference and entry["status"] == "reference" and not entry["passed"]


def test_evaluate_answer_gives_plain_data_or_the_error():
    ns = {"x": 3}
    assert inkernel.evaluate_answer("'course_' + 'device'", ns, 5) == ("course_device", "")
    assert inkernel.evaluate_answer("x * 2", ns, 5) == (6, "")
    assert inkernel.evaluate_answer("[x]", ns, 5) == ("[3]", "")
    assert inkernel.evaluate_answer("None", ns, 5) == (None, "")
    assert inkernel.evaluate_answer("y", ns, 5) == (None, "NameError")
    assert inkernel.evaluate_answer("sum(1 for _ in iter(int, 1))", ns, 0.2) == (None, "GradingTimeout")


# ---------------------------------------------------------------- the whole grading step


def test_grade_imports_the_checks_afresh_and_reports_tampering(fake_root, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    p = params(fake_root, tmp_path, checks=[["f", "check_f", ["f"]], ["g", "check_g", ["g"]]],
               quiz_exprs=[["q1", "'a' + 'b'"], ["q2", "missing"]])
    inkernel.install_snapshot(p["snapshot_key"], [fake_root], [p["checks_module"]])
    stale = sys.modules[p["checks_module"]]
    stale.check_f = lambda f: types.SimpleNamespace(passed=True, status="pass", message="")  # the notebook's fake
    out = inkernel.grade(p, {"f": lambda x: x + 1, "check_g": square})
    assert out["checks"]["f"] == {"passed": False, "status": "fail", "message": "f(2) is not 4"}
    assert out["checks"]["g"]["message"] == "the course has no check_g"
    assert sys.modules[p["checks_module"]] is not stale
    assert out["tampering"] == [f"{fake_root}.checks.check_f was replaced", "the notebook defines its own check_g"]
    assert out["quiz"] == {"q1": "ab", "q2": None}
    assert out["errors"] == ["quiz q2: the answer missing raised NameError"]
    import os

    assert os.environ["COURSE_PROGRESS_FILE"] == p["progress_file"] and "COURSE_STRICT_CHECKS" not in os.environ


def test_grade_notices_a_removed_snapshot_and_an_unimportable_checks_module(fake_root, tmp_path):
    p = params(fake_root, tmp_path, checks_module=f"{fake_root}.nothing_here")
    out = inkernel.grade(p, {"f": square})
    assert out["tampering"] == ["the grader's record of the course modules was removed"]
    assert out["errors"][0].startswith(f"could not import {fake_root}.nothing_here: ModuleNotFoundError")
    assert out["checks"]["f"]["message"] == "the course has no check_f"


def test_the_kernel_cells_run_prologue_then_epilogue(fake_root, tmp_path, monkeypatch, shown):
    """The very lines the grader sends, run here: the module is loaded from its file, not sys.modules."""
    import IPython

    p = params(fake_root, tmp_path)
    ns = {"f": square}
    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace(user_ns=ns))
    monkeypatch.setitem(sys.modules, "course_lib.grade.inkernel", types.ModuleType("a decoy"))
    exec(submission.kernel_cell("prologue", {"snapshot_key": p["snapshot_key"], "module_roots": [fake_root],
                                             "modules": [p["checks_module"]]}), ns)
    assert p["checks_module"] in sys.modules[p["snapshot_key"]].snapshot
    exec(submission.kernel_cell("epilogue", p), ns)
    result, problem = submission.read_result(shown, "marker:")
    assert problem == ""
    assert result == {"checks": {"f": {"passed": True, "status": "pass", "message": "f(2) is not 4"}},
                      "quiz": {}, "tampering": [], "errors": []}
    assert not [n for n in ns if n.startswith("__course")]  # the lines clean up after themselves


def test_epilogue_shows_the_result_once_and_a_second_one_is_refused(fake_root, tmp_path, shown):
    p = params(fake_root, tmp_path, checks=[])
    inkernel.epilogue(json.dumps(p), ns={})
    result, problem = submission.read_result(shown, "marker:")
    assert result["tampering"] == ["the grader's record of the course modules was removed"] and problem == ""
    assert submission.read_result(shown, "other-marker:") == (None, "the grading step gave no result")
    shown.append({"output_type": "display_data", "data": {submission.RESULT_MIME: "marker:" + json.dumps({})}})
    assert submission.read_result(shown, "marker:") == (
        None, "the kernel sent 2 grading results instead of one (made up by the notebook)")


def test_a_copy_of_the_reference_at_another_path_is_recognised(tmp_path, monkeypatch):
    """By its module name, and by its code when the copy is renamed too."""
    import shutil

    shutil.copytree(LIBRARY_DIR, tmp_path / "mycopy", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(tmp_path))
    import mycopy.sparsity

    try:
        prints = inkernel.course_fingerprints(["course_lib"])
        copy = mycopy.sparsity.l1_penalty
        assert not inkernel.from_library(copy, LIBRARY)  # the old test: by path only
        assert inkernel.is_course_code(copy, LIBRARY, ["course_lib"], prints)
        assert inkernel.is_course_code(sparsity.l1_penalty, LIBRARY, ["course_lib"], prints)
        assert not inkernel.is_course_code(square, LIBRARY, ["course_lib"], prints)
    finally:
        for n in [n for n in sys.modules if n == "mycopy" or n.startswith("mycopy.")]:
            del sys.modules[n]


def test_prologue_takes_its_parameters_as_json(fake_root):
    inkernel.prologue(json.dumps({"snapshot_key": "_pk", "module_roots": [fake_root],
                                  "modules": [f"{fake_root}.checks"]}))
    assert f"{fake_root}.checks" in inkernel.take_snapshot("_pk")

