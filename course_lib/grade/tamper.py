"""Signs of tampering that the grader finds outside the kernel.

The static scan reads the submission's code; the progress claims compare what the run's own
progress file says with the official results. The comparison of the course modules the
notebook ran with the grader's snapshot of them has to happen inside the kernel, so it lives in
:mod:`course_lib.grade.inkernel`.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat

from course_lib.grade.source import call_name, python_cells

PROTECTED_ROOTS = ("checks", "quiz", "progress", "core", "course_lib")
KINDS = ("check", "quiz")


def _root_name(node: ast.AST) -> str:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def static_tampering(nb: nbformat.NotebookNode, extra_modules: tuple[str, ...] = ()) -> list[str]:
    """Lines of code that change the grading machinery or touch the progress file."""
    modules = ("course_lib",) + tuple(extra_modules)
    protected = set(PROTECTED_ROOTS) | {m.split(".")[0] for m in modules}
    notes: list[str] = []
    for index, tree in python_cells(nb):
        where = f"cell {index + 1}"
        for node in ast.walk(tree):  # names bound to course modules: import ... as x
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in protected:
                        protected.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in protected:
                protected.update(alias.asname or alias.name for alias in node.names)
        for node in ast.walk(tree):
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            elif isinstance(node, ast.Delete):
                targets = node.targets
            for target in targets:
                if isinstance(target, (ast.Attribute, ast.Subscript)) and _root_name(target) in protected:
                    notes.append(f"{where} replaces `{ast.unparse(target)}`")
            if isinstance(node, ast.Call):
                name = call_name(node)
                if name in ("setattr", "delattr") and node.args and _root_name(node.args[0]) in protected:
                    notes.append(f"{where} calls `{name}` on `{ast.unparse(node.args[0])}`")
                if isinstance(node.func, ast.Attribute) and _root_name(node.func) in protected and \
                        name in ("record", "_save", "_write", "progress_path"):
                    notes.append(f"{where} calls `{ast.unparse(node.func)}`")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    "progress.json" in node.value or "COURSE_PROGRESS_FILE" in node.value):
                notes.append(f"{where} mentions the progress file ({node.value!r})")
    return list(dict.fromkeys(notes))


def progress_claims(path: Path, lesson: str) -> tuple[dict[str, set[str]], str]:
    """Items the run's own progress file marks passed, per kind; and a problem, if any."""
    if not path.exists():
        return {kind: set() for kind in KINDS}, ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["lessons"].get(lesson, {})
        return {kind: {item for item, e in entries.get(kind, {}).items() if e.get("passed")}
                for kind in KINDS}, ""
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        return {kind: set() for kind in KINDS}, f"the progress file it wrote is not in the course's format ({err})"


def false_claims(claims: dict[str, set[str]], checks: dict[str, int], quiz: dict[str, int]) -> list[str]:
    """Items the progress file claims passed that the official re-run failed."""
    found = []
    for kind, items in (("check", checks), ("quiz", quiz)):
        for item in sorted(claims.get(kind, ())):
            if item in items and not items[item]:
                found.append(f"its progress file says {item} passed, but the official re-run says no")
    return found
