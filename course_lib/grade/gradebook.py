"""The gradebook: one :class:`Row` per submission, written as CSV and shown as a summary table."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    """One line of the gradebook."""

    file: str
    lesson: str = ""
    status: str = "ok"
    checks: dict[str, int] = field(default_factory=dict)
    quiz: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)

    @property
    def graded(self) -> bool:
        return self.status != "not graded"

    @property
    def score(self) -> float | None:
        items = list(self.checks.values()) + list(self.quiz.values())
        if not self.graded or not items:
            return None
        return round(100.0 * sum(items) / len(items), 1)

    def fraction(self, kind: str) -> str:
        items = self.checks if kind == "checks" else self.quiz
        return f"{sum(items.values())}/{len(items)}" if self.graded and items else ""


def _columns(rows: list[Row]) -> tuple[list[str], list[str]]:
    """The check and quiz columns, in lesson order."""
    checks, quiz = [], []
    for row in sorted(rows, key=lambda r: r.lesson):
        checks += [c for c in row.checks if c not in checks]
        quiz += [q for q in row.quiz if q not in quiz]
    return checks, quiz


def write_gradebook(rows: list[Row], out: Path) -> None:
    """Write ``rows`` to the CSV file ``out``: one column per check and quiz question of any row."""
    checks, quiz = _columns(rows)
    out = Path(out)
    if out.parent != Path(""):
        out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "lesson", "status", *checks, *quiz, "checks", "quiz", "score", "notes"])
        for row in rows:
            items = {**row.checks, **row.quiz}
            notes = row.notes + [f"{k}: {v}" for k, v in row.details.items()]
            writer.writerow([row.file, row.lesson, row.status,
                             *[items.get(c, "") for c in checks + quiz],
                             row.fraction("checks"), row.fraction("quiz"),
                             "" if row.score is None else f"{row.score:.1f}", " | ".join(notes)])


def summary_table(rows: list[Row]) -> str:
    """A plain-text table of the rows, followed by every row's notes."""
    header = ["file", "lesson", "checks", "quiz", "score", "status"]
    table = [[Path(r.file).name, r.lesson, r.fraction("checks"), r.fraction("quiz"),
              "" if r.score is None else f"{r.score:.0f}%", r.status] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip()
             for line in [header, ["-" * w for w in widths], *table]]
    for row in rows:
        for note in row.notes:
            lines.append(f"  {Path(row.file).name}: {note}")
    return "\n".join(lines)
