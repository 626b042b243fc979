"""Feedback for learners: one short Markdown report per submission (``--feedback DIR``).

Each check and quiz question with its verdict and, when it did not pass, why: the check's own
hint (the likely mistake it recognised) or how to hand in a quiz answer. Never the solutions:
no reference code, no right option, no quiz explanation.
"""
from __future__ import annotations

from pathlib import Path

from course_lib.grade.gradebook import Row

STATUS_WORDS = {
    "ok": "graded",
    "errors": "graded; some cells raised an error or ran too long",
    "tampering": "graded, and marked for your teacher to read (see the notes)",
    "not graded": "could not be graded",
}


def _prompt(qid: str) -> str:
    from course_lib import quiz

    try:
        return " ".join(str(quiz.get(qid)["prompt"]).split())[:160]
    except Exception:  # an unknown id: the report still names it
        return ""


def report(row: Row) -> str:
    """The Markdown text of one submission's feedback."""
    name = Path(row.file).name
    lines = [f"# Feedback: {name}", ""]
    lines.append(f"Lesson {row.lesson or '?'}: {STATUS_WORDS.get(row.status, row.status)}.")
    if row.score is not None:
        lines.append(f"Score: **{row.score:.0f}%** (checks {row.fraction('checks') or '0/0'}, "
                     f"quiz {row.fraction('quiz') or '0/0'}).")
    if row.checks:
        lines += ["", "## Exercises", ""]
        for exercise, passed in row.checks.items():
            why = "" if passed else f": {row.details.get(exercise, 'did not pass')}"
            lines.append(f"- {'✅' if passed else '❌'} `{exercise}`{why}")
    if row.quiz:
        lines += ["", "## Quiz", ""]
        for qid, passed in row.quiz.items():
            prompt = _prompt(qid)
            verdict = "right" if passed else row.details.get(qid, "not right yet: read the lesson's section again")
            lines.append(f"- {'✅' if passed else '❌'} `{qid}`{(' ' + prompt) if prompt else ''}: {verdict}")
    other = [n for n in row.notes if not any(n.startswith(f"{k}:") for k in row.details)]
    if other:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in other]
    return "\n".join(lines) + "\n"


def write_feedback(row: Row, folder: Path, name: str) -> Path:
    """Write the report of ``row`` to ``folder/<name>.md``; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.md"
    target.write_text(report(row), encoding="utf-8")
    return target
