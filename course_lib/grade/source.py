"""Reading a notebook's code without running it: parsed cells, calls, and the quiz hand-in lines."""
from __future__ import annotations

import ast

import nbformat


def python_cells(nb: nbformat.NotebookNode) -> list[tuple[int, ast.Module]]:
    """``(cell index, parsed code)`` of every code cell that parses, with IPython syntax removed."""
    from IPython.core.inputtransformer2 import TransformerManager

    manager = TransformerManager()
    parsed = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            parsed.append((index, ast.parse(manager.transform_cell(cell.source))))
        except (SyntaxError, ValueError):
            continue
    return parsed


def call_name(node: ast.Call) -> str:
    """The called name: ``f`` for ``f(...)`` and ``a.b.f(...)``; ``""`` for anything else."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def first_str(node: ast.Call) -> str | None:
    """The first positional argument when it is a string literal."""
    if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def calls(tree: ast.AST) -> list[ast.Call]:
    """Calls in source order."""
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def first_line(cell: nbformat.NotebookNode, width: int = 50) -> str:
    """The first non-blank line of a cell, shortened to ``width`` characters."""
    line = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def quiz_answers(nb: nbformat.NotebookNode, ids: list[str]) -> dict[str, tuple[str, object]]:
    """The last ``answer("<id>", X)`` call per question: ``("value", X)`` or ``("expr", source)``.

    Only calls at the top level of a cell count (an answer inside a function is not a hand-in
    line). A literal ``None`` means "not answered" and is left out.
    """
    found: dict[str, tuple[str, object]] = {}
    for _index, tree in python_cells(nb):
        for stmt in tree.body:
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if not isinstance(call, ast.Call) or call_name(call) != "answer" or len(call.args) < 2:
                continue
            qid = first_str(call)
            if qid not in ids:
                continue
            try:
                value = ast.literal_eval(call.args[1])
            except (ValueError, SyntaxError, TypeError):
                found[qid] = ("expr", ast.unparse(call.args[1]))
                continue
            if value is None:
                found.pop(qid, None)
            else:
                found[qid] = ("value", value)
    return found
