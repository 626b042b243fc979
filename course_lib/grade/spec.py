"""What a lesson grades: its checks and quiz questions, and where its official exercise notebook is."""
from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_lib import course
from course_lib.grade.source import call_name, calls, python_cells

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
    """The checks and quiz questions of ``lesson``, from the course manifest (:mod:`course_lib.course`).

    The manifest decides what a lesson grades, as it does for the learner's score table. The
    official exercise notebook, when given, only tells how each check is called (its argument).
    ``checks_module`` is imported first, so that the checks it declares are registered.
    """
    module = importlib.import_module(checks_module)
    try:
        items = course.items(lesson)
    except KeyError as err:
        raise NotGraded(str(err.args[0])) from None
    arguments: dict[str, list[str]] = {}
    if reference is not None:
        ref = nbformat.read(str(reference), as_version=4)
        for _index, tree in python_cells(ref):
            for call in calls(tree):
                name = call_name(call)
                if name.startswith("check_") and name not in arguments and call.args:
                    arguments[name] = [ast.unparse(arg) for arg in call.args]
    checks = []
    for name in items["check"]:
        function = f"check_{name}"
        if not callable(getattr(module, function, None)):
            raise NotGraded(f"{checks_module} has no {function} for the registered exercise {name!r}")
        checks.append((name, function, arguments.get(function, [name])))
    return LessonSpec(lesson, checks, list(items["quiz"]), reference)


def detect_lesson(nb: nbformat.NotebookNode, path: Path) -> str | None:
    """The lesson number: from the generated notebook's metadata, else from a ``NN_`` file name."""
    generated = nb.metadata.get("course", {}).get("generated_from", "")
    for name in (Path(generated).name, path.name):
        match = re.match(r"(\d\d)_", name) or re.search(r"(?:^|[^0-9])(\d\d)_", name)
        if match:
            return match.group(1)
    return None
