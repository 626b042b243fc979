"""Generate the exercise notebooks from the solution notebooks.

``solutions/NN_<name>.ipynb`` is the only source; ``exercises/NN_<name>.ipynb`` is generated::

    python -m course_lib.exercises            # (re)generate every exercise notebook
    python -m course_lib.exercises 02 03      # only these (NN prefix, stem or file name)
    python -m course_lib.exercises --check    # exit 1 if an exercise is out of date, or a graded
                                              # item of the lesson is missing from its notebook
    python -m course_lib.exercises --force    # also replace notebooks a learner has edited

Conventions in a solution notebook's code cells:

* A region between a ``# BEGIN SOLUTION`` line and a ``# END SOLUTION`` line (any indentation)
  becomes, at the indentation of the ``# BEGIN`` line::

      # YOUR CODE HERE
      raise NotImplementedError("Replace this line with your code")

  Keep regions inside function bodies: a region at the top level of a cell raises when the
  exercise notebook is run top to bottom, which ``make test`` does.
* A region holding nothing but ``quiz.answer("<id>", <answer>)`` calls becomes, per call, a
  ``quiz.ask("<id>")`` form and a ``quiz.answer("<id>", None);`` line (a no-op while None) where
  a learner handing the notebook in writes the answer, since clicks in a form are not part of
  the saved notebook; ``python -m course_lib.grade`` reads those lines::

      # BEGIN SOLUTION
      quiz.answer("02-l1-effect", 1)
      # END SOLUTION

* A code cell whose first line is ``# SOLUTION CELL`` is left out of the exercise notebook.

Outputs and execution counts are cleared. The generated notebook stores a hash of its cell
sources in ``metadata["course"]["generated_sha"]``; when the file's sources no longer match it,
the learner has edited the notebook and it is not overwritten unless ``--force`` is given, in
which case a copy ``NN_<name>.ipynb.bak-<timestamp>`` is kept first.
"""
from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import re
import shutil
import sys
import textwrap
import time
from pathlib import Path

import nbformat

from course_lib import course

BEGIN = re.compile(r"^(\s*)#+ BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*#+ END SOLUTION\s*$")
DROP_MARK = "# SOLUTION CELL"
CHECK_OUTPUT_MARK = "# NBVAL_CHECK_OUTPUT"
HANDIN_COMMENT = "# for a graded hand-in: replace None with your answer"
STUB = ("# YOUR CODE HERE", 'raise NotImplementedError("Replace this line with your code")')
PATTERN = "[0-9][0-9]_*.ipynb"


# ---------------------------------------------------------------- turning solutions into stubs


def _quiz_calls(region: list[str]) -> list[tuple[str, str]] | None:
    """``[(prefix, id), ...]`` if the region only calls ``quiz.answer("id", ...)``, else None."""
    try:
        tree = ast.parse(textwrap.dedent("\n".join(region)))
    except SyntaxError:
        return None
    calls = []
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant)
                and isinstance(call.args[0].value, str)):
            return None
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "answer":
            calls.append((ast.unparse(func.value) + ".", call.args[0].value))
        elif isinstance(func, ast.Name) and func.id == "answer":
            calls.append(("", call.args[0].value))
        else:
            return None
    return calls or None


def _stub(region: list[str], indent: str) -> list[str]:
    calls = _quiz_calls(region)
    if calls:
        return [line for prefix, qid in calls for line in (
            f"{indent}{prefix}ask({json.dumps(qid)})",
            f"{indent}{prefix}answer({json.dumps(qid)}, None);  {HANDIN_COMMENT}")]
    return [indent + line for line in STUB]


def strip_solutions(source: str, where: str = "cell") -> str:
    """Replace every ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` region of ``source`` by a stub."""
    lines, out = source.split("\n"), []
    region: list[str] | None = None
    indent = ""
    for number, line in enumerate(lines, start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if region is not None:
                raise ValueError(f"{where}, line {number}: BEGIN SOLUTION inside another region")
            region, indent = [], begin.group(1)
        elif end:
            if region is None:
                raise ValueError(f"{where}, line {number}: END SOLUTION without BEGIN SOLUTION")
            out += _stub(region, indent)
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise ValueError(f"{where}: BEGIN SOLUTION without END SOLUTION")
    return "\n".join(out)


def _is_dropped(cell: dict) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(DROP_MARK)


def sources_hash(nb: nbformat.NotebookNode) -> str:
    """SHA-256 of the notebook's cell types and sources (outputs and metadata ignored)."""
    content = [[cell.cell_type, cell.source] for cell in nb.cells]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


def make_exercise(solution: nbformat.NotebookNode, source_name: str = "") -> nbformat.NotebookNode:
    """The exercise version of a solution notebook: stubs in, outputs out, hash stored."""
    nb = copy.deepcopy(solution)
    cells = []
    for index, cell in enumerate(nb.cells):
        if _is_dropped(cell):
            continue
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, f"{source_name or 'notebook'}, cell {index}")
            # Exercises store no outputs, so a marker asking nbval to compare them means nothing.
            cell.source = "\n".join(line for line in cell.source.split("\n")
                                    if line.strip() != CHECK_OUTPUT_MARK)
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    nb.metadata["course"] = {"generated_from": source_name, "generated_sha": sources_hash(nb)}
    return nb


# ---------------------------------------------------------------- files


def filled_in(exercise: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The exercise as a learner hands it in with every blank filled: the exercise's metadata, the
    solution's cells (without solution-only cells and the solution markers). For graders' tests."""
    done = copy.deepcopy(exercise)
    done.cells = [c for c in solution.cells if not _is_dropped(c)]
    for cell in done.cells:
        if cell.cell_type == "code":
            cell.source = "\n".join(line for line in cell.source.split("\n")
                                    if not (BEGIN.match(line) or END.match(line)))
    return done


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _same_content(a: nbformat.NotebookNode, b: nbformat.NotebookNode) -> bool:
    """Equal cell types and sources, and the same stored hash; outputs are ignored."""
    stored = [nb.metadata.get("course", {}).get("generated_sha") for nb in (a, b)]
    return sources_hash(a) == sources_hash(b) and stored[0] == stored[1]


def _is_edited(nb: nbformat.NotebookNode, fresh: nbformat.NotebookNode) -> bool:
    """True if the sources differ both from what was generated last time and from ``fresh``."""
    current = sources_hash(nb)
    stored = nb.metadata.get("course", {}).get("generated_sha")
    return current not in (stored, fresh.metadata["course"]["generated_sha"])


def _backup(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.bak-{stamp}")
    n = 1
    while backup.exists():
        backup, n = path.with_name(f"{path.name}.bak-{stamp}-{n}"), n + 1
    shutil.copy2(path, backup)
    return backup


def _write(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))  # sorted keys, indent 1, trailing newline


def _selected(path: Path, names: list[str]) -> bool:
    if not names:
        return True
    return any(Path(n).name in (path.name, path.stem, path.stem[:2]) for n in names)


def _generated(solution: Path) -> nbformat.NotebookNode:
    source_name = f"{solution.parent.name}/{solution.name}"
    return make_exercise(nbformat.read(str(solution), as_version=4), source_name)


def generate(solutions_dir: Path, exercises_dir: Path, names: list[str] | tuple[str, ...] = (),
             force: bool = False) -> dict[str, str]:
    """Write the exercise twin of every selected solution notebook; return ``{file: action}``."""
    actions = {}
    for solution in sorted(Path(solutions_dir).glob(PATTERN)):
        if not _selected(solution, list(names)):
            continue
        target = Path(exercises_dir) / solution.name
        fresh = _generated(solution)
        if not target.exists():
            _write(fresh, target)
            action = "created"
        else:
            old = nbformat.read(str(target), as_version=4)
            if _same_content(old, fresh):
                action = "up to date"
            elif not _is_edited(old, fresh):
                _write(fresh, target)
                action = "updated"
            elif force:
                backup = _backup(target)
                _write(fresh, target)
                action = f"replaced; your version is in {_show(backup)}"
            else:
                print(f"{_show(target)} has your edits; not overwritten "
                      "(use --force to replace it; a backup is written)")
                action = "kept (has your edits)"
        actions[_show(target)] = action
    return actions


def check(solutions_dir: Path, exercises_dir: Path) -> list[str]:
    """Describe every exercise notebook that is out of sync with ``solutions_dir`` (empty: in sync)."""
    problems = []
    solutions = {p.name: p for p in sorted(Path(solutions_dir).glob(PATTERN))}
    exercises = {p.name: p for p in sorted(Path(exercises_dir).glob(PATTERN))}
    for name, solution in solutions.items():
        target = exercises.get(name)
        if target is None:
            problems.append(f"{_show(Path(exercises_dir) / name)} is missing: run `make exercises`")
        else:
            nb, fresh = nbformat.read(str(target), as_version=4), _generated(solution)
            if _is_edited(nb, fresh):
                problems.append(f"{_show(target)} holds edits made after it was generated (your own "
                                f"work?); this check compares the course's files, so run it on a clean "
                                f"checkout, or `git stash` your work first")
            elif not _same_content(nb, fresh):
                problems.append(f"{_show(target)} differs from {_show(solution)}: run `make exercises`")
    for name, target in exercises.items():
        if name not in solutions:
            problems.append(f"{_show(target)} has no solution notebook {_show(Path(solutions_dir) / name)}: "
                            f"remove it, or add the solution")
    return problems


_CHECK_CALL = re.compile(r"\bchecks\.check_(\w+)\b")
_QUIZ_CALL = re.compile(r"""\bquiz\.(?:answer|ask)\(\s*["']([\w-]+)["']""")


def coverage(solutions_dir: Path) -> list[str]:
    """Graded items of the course (:mod:`course_lib.course`) that a solution notebook never uses.

    Every check of a lesson must be called in its solution notebook, and every quiz question of
    the lesson answered there, so that the exercise notebook grades what the score table counts.
    """
    problems = []
    for lesson in course.LESSONS:
        path = Path(solutions_dir) / lesson.notebook
        wanted = lesson.items()
        if not path.exists():  # a lesson without exercises (tests/test_course.py checks which have them)
            continue
        code = "\n".join(c.source for c in nbformat.read(str(path), as_version=4).cells if c.cell_type == "code")
        used = {"check": set(_CHECK_CALL.findall(code)), "quiz": set(_QUIZ_CALL.findall(code))}
        for kind, what in (("check", "call of `checks.check_{}`"), ("quiz", "answer to quiz `{}`")):
            problems += [f"{_show(path)} has no {what.format(name)} (lesson {lesson.number} grades it)"
                         for name in wanted[kind] if name not in used[kind]]
    return problems


def _default_root() -> Path:
    """The current folder if it has ``solutions/``, else the checkout this package lives in."""
    cwd = Path.cwd()
    return cwd if (cwd / "solutions").is_dir() else Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.exercises",
                                     description="Generate exercises/ from solutions/.")
    parser.add_argument("names", nargs="*", help="notebooks to process: NN prefix, stem or file name")
    parser.add_argument("--force", action="store_true", help="replace edited notebooks (a backup is kept)")
    parser.add_argument("--check", action="store_true", help="only report notebooks out of sync; exit 1 if any")
    parser.add_argument("--root", type=Path, default=None, help="folder holding solutions/ and exercises/")
    args = parser.parse_args(argv)
    root = args.root or _default_root()
    solutions_dir, exercises_dir = root / "solutions", root / "exercises"
    if args.check:
        problems = check(solutions_dir, exercises_dir) + coverage(solutions_dir)
        if problems:
            print("Exercise notebooks out of sync with their solutions:")
            print("\n".join(f"  {p}" for p in problems))
            return 1
        print(f"{_show(exercises_dir)}/ is in sync with {_show(solutions_dir)}/.")
        return 0
    try:
        actions = generate(solutions_dir, exercises_dir, args.names, force=args.force)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path, action in actions.items():
        print(f"{path}: {action}")
    if not actions:
        print(f"No solution notebooks matched in {_show(solutions_dir)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
