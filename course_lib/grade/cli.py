"""The command line: ``python -m course_lib.grade SUBMISSION.ipynb... [--out gradebook.csv]``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_lib.grade.gradebook import summary_table, write_gradebook
from course_lib.grade.grader import (DEFAULT_CELL_TIMEOUT, DEFAULT_CHECK_TIMEOUT, DEFAULT_TIMEOUT,
                                     grade_notebook)


def _expand(paths: list[Path]) -> list[Path]:
    """The notebooks named, with every ``.ipynb`` of a named folder in name order."""
    found = []
    for p in paths:
        if p.is_dir():
            found += sorted(q for q in p.glob("*.ipynb") if q.is_file())
        else:
            found.append(p)
    return found


def main(argv: list[str] | None = None) -> int:
    """Grade the submissions, write the gradebook, print the summary; the exit status."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.grade",
                                     description="Re-run handed-in exercise notebooks and write a gradebook.")
    parser.add_argument("submissions", nargs="+", type=Path, help="notebooks, or folders of notebooks")
    parser.add_argument("--out", type=Path, default=Path("gradebook.csv"), help="CSV file to write (gradebook.csv)")
    parser.add_argument("--lesson", help="grade every submission as this lesson (default: detect)")
    parser.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT,
                        help=f"seconds one cell may run (default {DEFAULT_CELL_TIMEOUT})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds one notebook may run (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--check-timeout", type=float, default=DEFAULT_CHECK_TIMEOUT,
                        help=f"seconds one official check may run (default {DEFAULT_CHECK_TIMEOUT})")
    parser.add_argument("--full", action="store_true", help="run in full mode instead of fast mode")
    parser.add_argument("--executed", type=Path, help="also save each executed notebook in this folder")
    parser.add_argument("--checks-module", default="course_lib.checks", help=argparse.SUPPRESS)
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    files = _expand(args.submissions)
    if not files:
        print("No notebooks to grade.", file=sys.stderr)
        return 2
    rows = []
    for number, path in enumerate(files, start=1):
        print(f"[{number}/{len(files)}] grading {path} ...", flush=True)
        rows.append(grade_notebook(path, lesson=args.lesson, checks_module=args.checks_module,
                                   reference=args.reference, cell_timeout=args.cell_timeout,
                                   timeout=args.timeout, check_timeout=args.check_timeout,
                                   fast=not args.full, executed_dir=args.executed))
    write_gradebook(rows, args.out)
    print()
    print(summary_table(rows))
    print(f"\nGradebook written to {args.out}")
    return 0
