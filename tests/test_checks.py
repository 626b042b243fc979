"""Every course check, from the registry: it accepts its reference, rejects every catalogued mistake
with that mistake's own feedback, reports a stub, and never raises whatever it is handed.

Per-check tests (``test_checks_lessonNN.py``) cover only what is specific to one exercise.
"""
from __future__ import annotations

import pytest
import torch

from course_lib import checks, progress
from course_lib.checks import REGISTRY

ALL = list(REGISTRY)
IDS = [c.name for c in ALL]
CATALOGUE = [(c, i) for c in ALL for i in range(len(c.catalogue))]


def test_every_lesson_has_checks_and_each_is_exported():
    by_lesson = checks.registered()
    assert sorted(by_lesson) == ["01", "02", "03", "04", "05", "06", "07", "08"]
    for lesson, names in by_lesson.items():
        assert len(names) >= 4, lesson
        for name in names:
            assert getattr(checks, f"check_{name}") is checks.get(name)
            assert f"check_{name}" in checks.__all__


@pytest.mark.parametrize("item", ALL, ids=IDS)
def test_the_reference_passes(item, capsys):
    result = item(item._reference)
    assert result.status == "pass", (result.message, result.hint)
    assert capsys.readouterr().out.startswith(f"✅ {item.name}: ")


@pytest.mark.parametrize("item,index", CATALOGUE, ids=[f"{c.name}-{i}" for c, i in CATALOGUE])
def test_every_catalogued_mistake_gets_its_own_feedback(item, index):
    mistake = item.catalogue[index]
    result = item(mistake.fn)
    assert result.status == "fail"
    assert result.message == mistake.hint, (result.message, result.hint)


@pytest.mark.parametrize("item", ALL, ids=IDS)
def test_catalogue_hints_are_distinct_and_there_are_at_least_five(item):
    hints = [m.hint for m in item.catalogue]
    assert len(hints) >= 5 and len(set(hints)) == len(hints)


def _stub(*args, **kwargs):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


@pytest.mark.parametrize("item", ALL, ids=IDS)
def test_a_stub_is_not_implemented(item, capsys):
    for fn in (_stub, None, "not a function"):
        result = item(fn)
        assert result.status == "not_implemented" and not result
        assert f"fill in `{item.name}`" in capsys.readouterr().out


def _hostile_functions():
    def crashes_halfway(*args, **kwargs):
        crashes_halfway.calls += 1
        if crashes_halfway.calls > 1:
            raise IndexError("list index out of range")
        return REGISTRY.get(crashes_halfway.name)._reference(*args, **kwargs)

    return {
        "returns None": lambda *a, **k: None,
        "returns a string": lambda *a, **k: "42",
        "returns a dict": lambda *a, **k: {"x": 1},
        "returns NaN": lambda *a, **k: torch.tensor(float("nan")),
        "returns a huge tensor": lambda *a, **k: torch.zeros(1000, 1000),
        "returns a bool": lambda *a, **k: True,
        "raises ZeroDivisionError": lambda *a, **k: 1 / 0,
        "raises SystemExit-like ValueError": lambda *a, **k: (_ for _ in ()).throw(ValueError("x" * 5000)),
        "crashes halfway": crashes_halfway,
    }


@pytest.mark.parametrize("item", ALL, ids=IDS)
def test_hostile_functions_never_raise_and_never_pass(item, monkeypatch):
    for label, fn in _hostile_functions().items():
        if label == "crashes halfway":
            fn.calls, fn.name = 0, item.name
        result = item.grade(fn)
        assert result.status in ("fail", "not_implemented"), (label, result)
        assert len(result.message) < 600, label


@pytest.mark.parametrize("item", ALL, ids=IDS)
def test_or_reference_uses_the_last_result_and_records_once(item, capsys):
    item(_stub)
    use = item.or_reference(_stub)
    assert use is item._reference
    assert "using the reference implementation" in capsys.readouterr().out
    entry = progress.load()["lessons"][item.lesson]["check"][item.name]
    assert entry["attempts"] == 1 and entry["passed"] is False
    ref = item._reference
    assert item.or_reference(ref) is ref  # graded silently once
    entry = progress.load()["lessons"][item.lesson]["check"][item.name]
    assert entry["attempts"] == 2 and entry["passed"] is True
    assert capsys.readouterr().out == ""


def test_or_reference_in_strict_mode_does_not_raise(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    item = checks.get("l1_penalty")
    assert item.or_reference(lambda z, lam: z.sum()) is item._reference
