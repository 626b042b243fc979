"""What a lesson grades: its checks and quiz questions, and where its official exercise notebook is."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_lib.grade.source import call_name, calls, first_str, python_cells

LIBRARY_DIR = Path(__file__).resolve().parent.parent  # the course_lib folder the grader runs from


class NotGraded(Exception):
    """The submission cannot be graded; the message says why."""


@dataclass
class LessonSpec:
    """The graded items of one lesson."""

    lesson: str
    checks: list[tuple[str, str, list[str]]]  # (exercise, check function, argument sources)
    quiz: list[str]  # question ids
    reference: Path | None = None  # the official exercise notebook, when found


def course_root() -> Path | None:
    """The checkout with ``exercises/``: the current folder, or the one course_lib lives in."""
    for root in (Path.cwd(), LIBRARY_DIR.parent):
        if (root / "exercises").is_dir():
            return root
    return None


def find_reference(lesson: str, nb: nbformat.NotebookNode | None = None) -> Path | None:
    """The official exercise notebook of ``lesson`` in the course checkout, if there is one."""
    root = course_root()
    if root is None:
        return None
    generated = (nb.metadata.get("course", {}) if nb is not None else {}).get("generated_from", "")
    if generated:
        candidate = root / "exercises" / Path(generated).name
        if candidate.is_file() and candidate.name.startswith(f"{lesson}_"):
            return candidate
    found = sorted((root / "exercises").glob(f"{lesson}_*.ipynb"))
    return found[0] if len(found) == 1 else None


def lesson_spec(lesson: str, checks_module: str = "course_lib.checks",
                reference: Path | None = None) -> LessonSpec:
    """The checks (from the registry) and quiz questions of ``lesson``.

    This is the one place that decides what a lesson's graded items are. The argument of each
    check call, and the quiz questions, come from the official exercise notebook when one is
    given; otherwise every registered check ``<name>`` is called as ``check_<name>(<name>)`` and
    every quiz question of the lesson counts.
    """
    import importlib

    from course_lib import quiz
    from course_lib.checks.core import registered

    module = importlib.import_module(checks_module)
    names = list(registered().get(lesson, []))
    arguments: dict[str, list[str]] = {}
    quiz_ids: list[str] = []
    bank = {q["id"] for q in quiz.questions(lesson)}
    if reference is not None:
        ref = nbformat.read(str(reference), as_version=4)
        for _index, tree in python_cells(ref):
            for call in calls(tree):
                name = call_name(call)
                if name.startswith("check_") and name not in arguments and call.args:
                    arguments[name] = [ast.unparse(arg) for arg in call.args]
                    if name[len("check_"):] not in names:
                        names.append(name[len("check_"):])
                qid = first_str(call)
                if name in ("ask", "answer") and qid in bank and qid not in quiz_ids:
                    quiz_ids.append(qid)
    else:
        quiz_ids = [q["id"] for q in quiz.questions(lesson)]
    checks = []
    for name in names:
        function = f"check_{name}"
        if not callable(getattr(module, function, None)):
            raise NotGraded(f"{checks_module} has no {function} for the registered exercise {name!r}")
        checks.append((name, function, arguments.get(function, [name])))
    return LessonSpec(lesson, checks, quiz_ids, reference)


def detect_lesson(nb: nbformat.NotebookNode, path: Path) -> str | None:
    """The lesson number: from the generated notebook's metadata, else from a ``NN_`` file name."""
    generated = nb.metadata.get("course", {}).get("generated_from", "")
    for name in (Path(generated).name, path.name):
        match = re.match(r"(\d\d)_", name) or re.search(r"(?:^|[^0-9])(\d\d)_", name)
        if match:
            return match.group(1)
    return None
