"""Grading one submission: read it, run it, and turn the official results into a gradebook row."""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import nbformat

from course_lib.grade.gradebook import Row, display_name
from course_lib.grade.sandbox import LIMITS_ONLY, SANDBOX
from course_lib.grade.source import quiz_answers
from course_lib.grade.spec import LessonSpec, NotGraded, detect_lesson, find_reference, lesson_spec
from course_lib.grade.submission import Isolation, run_submission
from course_lib.grade.tamper import false_claims, static_tampering

DEFAULT_CELL_TIMEOUT = 120
DEFAULT_TIMEOUT = 600
DEFAULT_CHECK_TIMEOUT = 60


def _short(err: BaseException, limit: int = 160) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes; ``""`` if it cannot be read."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def _read(path: Path) -> nbformat.NotebookNode:
    if not path.exists():
        raise NotGraded("no such file (is the path mistyped?)")
    if path.is_dir():
        raise NotGraded("a folder, not a notebook")
    try:
        nb = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # JSON errors, validation errors, unreadable files
        raise NotGraded(f"not a valid notebook ({type(err).__name__}: {_short(err)})") from None
    return nb


def _score(row: Row, spec: LessonSpec, answers: dict[str, tuple[str, object]], result: dict) -> None:
    """Fill in the row's check and quiz marks, and why an item did not pass."""
    from course_lib import quiz

    for exercise, _function, _args in spec.checks:
        entry = result.get("checks", {}).get(exercise, {})
        row.checks[exercise] = int(bool(entry.get("passed")))
        if not entry.get("passed"):
            row.details[exercise] = f"{entry.get('status', 'error')}: {entry.get('message', '')}".strip()
    bank = {q["id"]: q for q in quiz.questions(row.lesson)}
    for qid in spec.quiz:
        kind, value = answers.get(qid, ("none", None))
        if kind == "expr":
            value = result.get("quiz", {}).get(qid)
        verdict = quiz.grade(bank[qid], value) if value is not None else None
        row.quiz[qid] = int(bool(verdict))
        if verdict is None:
            row.details[qid] = ("not answered: write the answer in its quiz.answer(...) line"
                                if value is None else f"could not read {value!r} as an answer")


def grade_notebook(path: Path, *, lesson: str | None = None, checks_module: str = "course_lib.checks",
                   reference: Path | None = None, cell_timeout: float = DEFAULT_CELL_TIMEOUT,
                   timeout: float = DEFAULT_TIMEOUT, check_timeout: float = DEFAULT_CHECK_TIMEOUT,
                   fast: bool = True, executed_dir: Path | None = None, executed_name: str | None = None,
                   isolation: Isolation | None = None) -> Row:
    """Grade one submission; never raises for a problem with the submission itself."""
    path = Path(path)
    isolation = isolation or Isolation()
    row = Row(file=display_name(path), lesson=lesson or detect_lesson(nbformat.v4.new_notebook(), path) or "",
              isolation=SANDBOX if isolation.sandboxed else LIMITS_ONLY, sha256=content_hash(path))
    try:
        nb = _read(path)
        row.lesson = lesson or detect_lesson(nb, path) or ""
        if not row.lesson:
            raise NotGraded("cannot tell which lesson this is: name it NN_<name>.ipynb or pass --lesson")
        ref = reference if reference is not None else find_reference(row.lesson, nb)
        spec = lesson_spec(row.lesson, checks_module, ref)
        if not spec.checks and not spec.quiz:
            raise NotGraded(f"lesson {row.lesson} has no checks and no quiz questions to grade")
        answers = quiz_answers(nb, spec.quiz)
        module_roots = ["course_lib"] + ([checks_module] if not checks_module.startswith("course_lib") else [])
        static = static_tampering(nb, tuple(module_roots[1:]))
        found = importlib.util.find_spec(checks_module)
        executed = executed_dir / (executed_name or path.name) if executed_dir is not None else None
        run, (claims, claims_problem) = run_submission(path, spec, answers, module_roots, checks_module,
                                                       cell_timeout, timeout, check_timeout, fast,
                                                       executed, isolation,
                                                       checks_file=found.origin if found else None)
        if run.fatal:
            row.notes = run.notes + [run.fatal] + static
            raise NotGraded(None)
        result = run.result or {}
        _score(row, spec, answers, result)
        tampering = static + list(result.get("tampering", []))
        if claims_problem:
            tampering.append(claims_problem)
        tampering += false_claims(claims, row.checks, row.quiz)
        errors = run.notes + list(result.get("errors", []))
        row.notes = errors + list(dict.fromkeys(tampering))
        row.status = "tampering" if tampering else "errors" if errors else "ok"
    except NotGraded as err:
        row.status = "not graded"
        if err.args and err.args[0]:
            row.notes.insert(0, err.args[0])
        row.checks, row.quiz = {}, {}
    except Exception as err:  # a bug in the grader must not stop the other submissions
        row.status = "not graded"
        row.notes.insert(0, f"the grader failed on this file ({type(err).__name__}: {_short(err)})")
        row.checks, row.quiz = {}, {}
    return row
