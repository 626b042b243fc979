"""The gradebook: one :class:`Row` per submission, written as CSV and shown as a summary table.

While a class is graded, each row is appended to a journal next to the gradebook
(``.<name>.partial``, one JSON line per row, flushed to disk at once); at the end the CSV is
written to a temporary file and renamed over the gradebook in one step. A grader that is
stopped half-way leaves the journal, and the next run takes up its rows: see :class:`Journal`.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

FIXED = ("file", "lesson", "status")
TOTALS = ("checks", "quiz", "score", "notes", "isolation", "sha256")


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
    isolation: str = ""  # "sandbox" or "rlimits only"
    sha256: str = ""  # of the file's content: a rerun skips a file graded with the same content

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> Row:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

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


def display_name(path: os.PathLike | str) -> str:
    """A path as text for the gradebook, whatever bytes its name holds (others escaped as ``\\xNN``)."""
    return os.fsencode(os.fspath(path)).decode("utf-8", "backslashreplace")


def _check_not_a_link(out: Path) -> None:
    if out.is_symlink():
        raise FileExistsError(f"{out} is a symbolic link: the grader does not write through links; "
                              f"remove it or choose another --out")


def write_gradebook(rows: list[Row], out: Path) -> None:
    """Write ``rows`` to the CSV file ``out``: one column per check and quiz question of any row.

    The file is written under a temporary name in the same folder and renamed over ``out``:
    ``out`` is whole or untouched, and a link put in its place is replaced, not followed.
    """
    checks, quiz = _columns(rows)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with open(fd, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([*FIXED, *checks, *quiz, *TOTALS])
            for row in rows:
                items = {**row.checks, **row.quiz}
                notes = row.notes + [f"{k}: {v}" for k, v in row.details.items()]
                writer.writerow([row.file, row.lesson, row.status,
                                 *[items.get(c, "") for c in checks + quiz],
                                 row.fraction("checks"), row.fraction("quiz"),
                                 "" if row.score is None else f"{row.score:.1f}", " | ".join(notes),
                                 row.isolation, row.sha256])
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_gradebook(out: Path, quiz_ids: set[str]) -> list[Row]:
    """The rows of a gradebook this grader wrote (``[]`` if it is not one); ``quiz_ids`` tells quiz
    columns from check columns."""
    try:
        with open(out, newline="", encoding="utf-8") as f:
            table = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    rows = []
    for line in table:
        if not set(FIXED + TOTALS) <= set(line):
            return []
        row = Row(file=line["file"], lesson=line["lesson"], status=line["status"],
                  notes=[n for n in line["notes"].split(" | ") if n], isolation=line["isolation"],
                  sha256=line["sha256"])
        for column, value in line.items():
            if column not in FIXED + TOTALS and value in ("0", "1"):
                (row.quiz if column in quiz_ids else row.checks)[column] = int(value)
        rows.append(row)
    return rows


class Journal:
    """Rows as they are graded, one JSON line each, flushed to disk at once.

    ``previous`` holds the rows of the last run (the gradebook, then an unfinished journal),
    keyed by ``(file, sha256)``: a file graded before with the same content need not be graded again.
    """

    def __init__(self, out: Path, quiz_ids: set[str] = frozenset()):
        self.out = Path(out)
        _check_not_a_link(self.out)
        self.path = self.out.parent / f".{self.out.name}.partial"
        _check_not_a_link(self.path)
        self.previous: dict[tuple[str, str], Row] = {}
        for row in read_gradebook(self.out, set(quiz_ids)) + self._journal_rows():
            if row.sha256:
                self.previous[(row.file, row.sha256)] = row
        self._file = None

    def _journal_rows(self) -> list[Row]:
        rows = []
        try:
            with open(self.path, encoding="utf-8") as f:
                for line in f:
                    try:
                        rows.append(Row.from_dict(json.loads(line)))
                    except (ValueError, TypeError):
                        continue  # the last line of a grader stopped while writing it
        except OSError:
            pass
        return rows

    def add(self, row: Row) -> None:
        if self._file is None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
            self._file = open(os.open(self.path, flags, 0o644), "a", encoding="utf-8")
        self._file.write(row.to_json() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def finish(self, rows: list[Row]) -> None:
        """Write the gradebook (atomically) and remove the journal."""
        write_gradebook(rows, self.out)
        if self._file is not None:
            self._file.close()
        self.path.unlink(missing_ok=True)


def summary_table(rows: list[Row]) -> str:
    """A plain-text table of the rows, followed by every row's notes."""
    header = ["file", "lesson", "checks", "quiz", "score", "status"]
    names = short_names([r.file for r in rows])
    table = [[names[i], r.lesson, r.fraction("checks"), r.fraction("quiz"),
              "" if r.score is None else f"{r.score:.0f}%", r.status] for i, r in enumerate(rows)]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip()
             for line in [header, ["-" * w for w in widths], *table]]
    for name, row in zip(names, rows):
        for note in row.notes:
            lines.append(f"  {name}: {note}")
    unsandboxed = [r for r in rows if r.isolation and r.isolation != "sandbox"]
    if unsandboxed:
        lines.append(f"\nWARNING: {len(unsandboxed)} of {len(rows)} submissions ran WITHOUT a sandbox "
                     f"({unsandboxed[0].isolation}): their code could read and change your files.")
    return "\n".join(lines)


def short_names(files: list[str]) -> list[str]:
    """The file names, with as much of their folder as it takes to tell them apart."""
    parts = [Path(f).parts for f in files]
    depth = 1
    while depth < max((len(p) for p in parts), default=1):
        names = ["/".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(set(files)):
            return names
        depth += 1
    return list(files)
