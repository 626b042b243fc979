"""The course manifest: its lessons, and what each one grades. The one source of score totals.

A lesson's graded items are derived, never listed by hand: its checks are those declared in
``course_lib/checks/lessonNN.py`` (the check registry) and its quiz questions those of
``course_lib/questions/NN_<slug>.json``. Progress tables (:func:`summary`), the grader, the
exercise generator's coverage check and the README's lesson table all read them from here.

    >>> from course_lib import course
    >>> course.lesson("02").title
    'The L1 penalty: every active unit pays'
    >>> course.items("02")["check"][:2]
    ['l1_penalty', 'sparse_loss']
"""
from __future__ import annotations

from dataclasses import dataclass

from course_lib import checks, progress, quiz

KINDS = progress.KINDS  # ("check", "quiz")


@dataclass(frozen=True)
class Lesson:
    """One lesson: ``notebooks/NN_<slug>.ipynb``, its solution and exercise twins."""

    number: str
    slug: str
    title: str

    @property
    def notebook(self) -> str:
        """File name shared by ``notebooks/``, ``solutions/`` and ``exercises/``."""
        return f"{self.number}_{self.slug}.ipynb"

    @property
    def heading(self) -> str:
        """The notebook's first heading, e.g. ``02 · The L1 penalty: every active unit pays``."""
        return f"{self.number} · {self.title}"

    def items(self) -> dict[str, list[str]]:
        """``{"check": [exercise, ...], "quiz": [question id, ...]}`` in course order."""
        return {"check": checks.registered().get(self.number, []),
                "quiz": [q["id"] for q in quiz.questions(self.number)]}


LESSONS: tuple[Lesson, ...] = (
    Lesson("00", "setup", "Setting up"),
    Lesson("01", "overcomplete_autoencoders",
           "Overcomplete autoencoders: more units than pixels, and why that needs a constraint"),
    Lesson("02", "l1_sparsity", "The L1 penalty: every active unit pays"),
    Lesson("03", "kl_sparsity", "The KL sparsity penalty"),
    Lesson("04", "interpretability", "Interpretability and feature discovery"),
    Lesson("05", "ksparse_and_biology", "K-sparse autoencoders and the biological analogy"),
    Lesson("06", "capstone_sae_on_a_network", "Capstone: a sparse autoencoder inside a real network"),
    Lesson("07", "superposition", "Superposition, and what a sparse autoencoder recovers"),
    Lesson("08", "modern_saes", "Modern sparse autoencoders side by side, and how to evaluate them"),
)


def lesson(number: str | int) -> Lesson:
    """The lesson numbered ``number`` (``"02"``, ``2``)."""
    key = f"{int(number):02d}" if str(number).isdigit() else str(number)
    for item in LESSONS:
        if item.number == key:
            return item
    raise KeyError(f"no lesson {number!r}; the course has {', '.join(item.number for item in LESSONS)}")


def items(number: str | int) -> dict[str, list[str]]:
    """The graded items of one lesson: ``{"check": [...], "quiz": [...]}``."""
    return lesson(number).items()


def totals() -> dict[str, dict[str, int]]:
    """``{lesson: {"check": n, "quiz": m}}`` for every lesson."""
    return {item.number: {kind: len(names) for kind, names in item.items().items()} for item in LESSONS}


def summary(number: str | int | None = None) -> dict:
    """Print a score table per lesson and return it.

    Returns ``{lesson: {"check": {"passed": int, "total": int}, "quiz": {...}}}``. Totals are
    the course's items (:func:`items`), so a lesson with 4 checks reads ``x/4`` from the start;
    a recorded item the course no longer has is not counted.
    """
    recorded = progress.load()["lessons"]
    try:
        wanted = [lesson(number)] if number is not None else list(LESSONS)
    except KeyError:
        print(f"Nothing recorded for lesson {number}.")
        return {}
    table: dict[str, dict[str, dict[str, int]]] = {}
    for item in wanted:
        row = {}
        for kind, names in item.items().items():
            done = recorded.get(item.number, {}).get(kind, {})
            passed = sum(1 for name in names if isinstance(done.get(name), dict) and done[name].get("passed"))
            row[kind] = {"passed": passed, "total": len(names)}
        table[item.number] = row
    for name, row in table.items():
        parts = [f"{label} {row[kind]['passed']}/{row[kind]['total']}"
                 for kind, label in (("check", "checks"), ("quiz", "quiz")) if row[kind]["total"]]
        print(f"Lesson {name}: {', '.join(parts) or 'nothing to grade'}")
    return table
