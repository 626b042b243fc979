"""The command line: ``python -m course_lib.grade SUBMISSION.ipynb... [--out gradebook.csv]``."""
from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from course_lib.grade.feedback import write_feedback
from course_lib.grade.launch import become_subreaper, descendants, reap_children
from course_lib.grade.gradebook import Journal, Row, display_name, short_names, summary_table
from course_lib.grade.grader import (DEFAULT_CELL_TIMEOUT, DEFAULT_CHECK_TIMEOUT, DEFAULT_TIMEOUT,
                                     content_hash, grade_notebook)
from course_lib.grade.sandbox import LIMITS_ONLY, Limits, kernel_threads, probe
from course_lib.grade.spec import LIBRARY_DIR
from course_lib.grade.submission import Isolation


def expand(paths: list[Path], recursive: bool = False) -> tuple[list[Path], list[str]]:
    """The notebooks named (a folder: its ``.ipynb`` files, in name order), once each; and warnings."""
    found: list[Path] = []
    warnings: list[str] = []
    seen: dict[Path, Path] = {}
    for p in paths:
        if p.is_dir():
            batch = sorted(q for q in (p.rglob("*.ipynb") if recursive else p.glob("*.ipynb"))
                           if q.is_file() and ".ipynb_checkpoints" not in q.parts)
            if not batch:
                deeper = any(p.rglob("*.ipynb"))
                warnings.append(f"{display_name(p)}: no notebooks in this folder"
                                + (" (there are some in its sub-folders: add --recursive)" if deeper else ""))
        else:
            batch = [p]  # a mistyped path gets its own row saying so
        for q in batch:
            key = q.resolve() if q.exists() else q
            if key in seen:
                warnings.append(f"{display_name(q)} is listed more than once: graded once")
                continue
            seen[key] = q
            found.append(q)
    return found, warnings


def library_digest(extra: list[str]) -> str:
    """A hash of every file of the grader's ``course_lib`` (and of the checks module): a
    submission that changed them on disk is caught after its row."""
    digest = hashlib.sha256()
    files = sorted(LIBRARY_DIR.rglob("*.py")) + [Path(e) for e in extra]
    for path in files:
        digest.update(str(path).encode() + b"\0" + (path.read_bytes() if path.is_file() else b"-"))
    return digest.hexdigest()


def unique_names(files: list[Path]) -> list[str]:
    """One file name per submission for the feedback and executed copies (folders joined with ``__``)."""
    names = [n.replace("/", "__") for n in short_names([display_name(f) for f in files])]
    return [n[:-6] if n.endswith(".ipynb") else n for n in names]


def _duplicates(rows: list[Row]) -> None:
    by_hash: dict[str, list[Row]] = {}
    for row in rows:
        if row.sha256:
            by_hash.setdefault(row.sha256, []).append(row)
    for same in by_hash.values():
        for row in same if len(same) > 1 else []:
            others = ", ".join(r.file for r in same if r is not row)
            note = f"same content as {others}"
            if note not in row.notes:
                row.notes.append(note)


def kill_orphans() -> None:
    """Kill what submissions left behind: the grader is a "child subreaper" (Linux), so a process
    that escaped its kernel's launcher (the launcher was killed) comes back to it, not to init."""
    import signal

    if not Path("/proc/self").exists():
        return
    left = descendants(os.getpid())
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    reap_children(left)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m course_lib.grade",
                                description="Re-run handed-in exercise notebooks and write a gradebook.")
    p.add_argument("submissions", nargs="+", type=Path, help="notebooks, or folders of notebooks")
    p.add_argument("--out", type=Path, default=Path("gradebook.csv"), help="CSV file to write (gradebook.csv)")
    p.add_argument("--lesson", help="grade every submission as this lesson (default: detect)")
    p.add_argument("--recursive", action="store_true", help="also take the notebooks of sub-folders")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="submissions graded at once (default: the number of cores); each kernel "
                        "gets cores / jobs threads")
    p.add_argument("--regrade", action="store_true",
                   help="grade every file again, even one the gradebook holds with the same content")
    p.add_argument("--feedback", type=Path, help="write one Markdown report per submission in this folder")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run kernels with resource limits only, without the bubblewrap sandbox")
    p.add_argument("--memory", type=float, default=Limits.memory / 2**30,
                   help="GB of memory one kernel may use (default %(default)g)")
    p.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT,
                   help=f"seconds one cell may run (default {DEFAULT_CELL_TIMEOUT})")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds one notebook may run (default {DEFAULT_TIMEOUT})")
    p.add_argument("--check-timeout", type=float, default=DEFAULT_CHECK_TIMEOUT,
                   help=f"seconds one official check may run (default {DEFAULT_CHECK_TIMEOUT})")
    p.add_argument("--full", action="store_true", help="run in full mode instead of fast mode")
    p.add_argument("--executed", type=Path, help="also save each executed notebook in this folder")
    p.add_argument("--checks-module", default="course_lib.checks", help=argparse.SUPPRESS)
    p.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    """Grade the submissions, write the gradebook, print the summary; the exit status."""
    from tqdm.auto import tqdm

    from course_lib import course

    args = parser().parse_args(argv)
    if args.jobs < 1:
        print("--jobs must be at least 1", file=sys.stderr)
        return 2
    files, warnings = expand(args.submissions, args.recursive)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not files:
        print("No notebooks to grade.", file=sys.stderr)
        return 2
    checks_module = importlib.import_module(args.checks_module)
    quiz_ids = {q for item in course.LESSONS for q in course.items(item.number)["quiz"]}
    try:
        journal = Journal(args.out, quiz_ids)
    except FileExistsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    bwrap, why = (None, "--no-sandbox was given") if args.no_sandbox else probe()
    isolation = Isolation(sandboxed=bwrap is not None, limits=Limits(memory=int(args.memory * 2**30)),
                          hidden=tuple({f.resolve().parent for f in files if f.exists()}
                                       | {p.resolve() for p in (args.out.parent, args.feedback, args.executed)
                                          if p is not None}),
                          hidden_files=tuple([*files, args.out, journal.path]),
                          threads=kernel_threads(args.jobs))
    if bwrap is None:
        print(f"WARNING: grading WITHOUT a sandbox ({why}): kernels run with resource limits only "
              f"and can read and change your files. Install bubblewrap (Debian: apt install bubblewrap).",
              file=sys.stderr)
    names = unique_names(files)
    become_subreaper()
    checks_file = [getattr(checks_module, "__file__", None) or ""]
    digest = library_digest(checks_file)
    rows: list[Row | None] = [None] * len(files)
    todo = []
    for i, path in enumerate(files):
        old = journal.previous.get((display_name(path), content_hash(path)))
        if old is not None and not args.regrade and old.sha256:
            rows[i] = old
        else:
            todo.append(i)
    if len(todo) < len(files):
        print(f"{len(files) - len(todo)} of {len(files)} files are graded already with the same content "
              f"(in {display_name(args.out)}); grading the other {len(todo)} (--regrade: all)", file=sys.stderr)
    lock = threading.Lock()
    stopped = ""

    def grade_one(i: int) -> Row:
        if stopped:
            return Row(file=display_name(files[i]), status="not graded",
                       notes=[f"grading stopped: {stopped}"], sha256=content_hash(files[i]))
        return grade_notebook(files[i], lesson=args.lesson, checks_module=args.checks_module,
                              reference=args.reference, cell_timeout=args.cell_timeout, timeout=args.timeout,
                              check_timeout=args.check_timeout, fast=not args.full,
                              executed_dir=args.executed, executed_name=names[i] + ".ipynb", isolation=isolation)

    with ThreadPoolExecutor(max_workers=min(args.jobs, max(1, len(todo)))) as pool, \
            tqdm(total=len(todo), desc="grading", unit="notebook", file=sys.stderr) as bar:
        futures = {pool.submit(grade_one, i): i for i in todo}
        for future in as_completed(futures):
            i = futures[future]
            row = future.result()
            with lock:
                if library_digest(checks_file) != digest and not stopped:
                    stopped = "the course library changed on disk while grading (restore it and grade again)"
                    row.status = "tampering"
                    row.notes.append("the course library on disk changed while this notebook ran")
                    print(f"error: {stopped}", file=sys.stderr)
                if bwrap is None and not any(n.startswith("graded WITHOUT") for n in row.notes):
                    row.notes.append(f"graded WITHOUT a sandbox ({why})")
                rows[i] = row
                journal.add(row)
                if args.feedback is not None:
                    write_feedback(row, args.feedback, names[i])
                bar.update(1)
    kill_orphans()
    final = [r for r in rows if r is not None]
    _duplicates(final)
    journal.finish(final)
    print()
    print(summary_table(final))
    if bwrap is None:
        print(f"WARNING: graded WITHOUT a sandbox ({why}); the gradebook says so in its isolation column "
              f"({LIMITS_ONLY!r}).")
    for warning in warnings:
        print(f"warning: {warning}")
    print(f"\nGradebook written to {display_name(args.out)}")
    return 1 if stopped else 0
