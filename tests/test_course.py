"""The course manifest: lessons match the notebooks, totals come from the registry and the bank,
score tables count what the course grades, and course_lib has no import cycle."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import course_lib
from course_lib import checks, course, progress, quiz

ROOT = Path(__file__).resolve().parents[1]
LIB = Path(course_lib.__file__).parent


def test_lessons_match_the_notebooks_on_disk():
    on_disk = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert [item.notebook for item in course.LESSONS] == on_disk
    for item in course.LESSONS:
        nb = json.loads((ROOT / "notebooks" / item.notebook).read_text())
        headings = [line for cell in nb["cells"] if cell["cell_type"] == "markdown"
                    for line in "".join(cell["source"]).splitlines() if line.startswith("# ")]
        assert headings[0] == f"# {item.heading}", item.number
        if item.items()["check"]:
            assert (ROOT / "solutions" / item.notebook).exists()


def test_items_come_from_the_check_registry_and_the_quiz_bank():
    for item in course.LESSONS:
        assert item.items()["check"] == checks.registered().get(item.number, [])
        assert item.items()["quiz"] == [q["id"] for q in quiz.questions(item.number)]
    assert course.totals()["02"]["check"] == len(checks.registered()["02"])
    assert sum(t["quiz"] for t in course.totals().values()) == len(quiz.questions())


def test_lesson_lookup():
    assert course.lesson(2) is course.lesson("02")
    with pytest.raises(KeyError, match="no lesson '42'"):
        course.lesson("42")


def test_summary_counts_items_not_tried_yet(capsys):
    names = course.items("01")["check"]
    progress.record("01", names[0], True, kind="check")
    progress.record("01", names[1], False, kind="check")
    progress.record("01", "an old exercise the course dropped", True, kind="check")
    n_quiz = len(course.items("01")["quiz"])
    table = course.summary("01")
    assert table == {"01": {"check": {"passed": 1, "total": len(names)}, "quiz": {"passed": 0, "total": n_quiz}}}
    assert capsys.readouterr().out.strip() == f"Lesson 01: checks 1/{len(names)}, quiz 0/{n_quiz}"


def test_summary_includes_the_quiz_bank(capsys):
    n_setup = len(quiz.questions("00"))
    quiz.answer("00-device-variable", "COURSE_DEVICE")
    capsys.readouterr()
    table = course.summary()
    assert table["00"]["quiz"] == {"passed": 1, "total": n_setup}
    assert f"Lesson 00: quiz 1/{n_setup}" in capsys.readouterr().out.splitlines()
    assert sorted(table) == [item.number for item in course.LESSONS]


def test_summary_of_an_unknown_lesson(capsys):
    assert course.summary("77") == {}
    assert capsys.readouterr().out.strip() == "Nothing recorded for lesson 77."


def test_summary_survives_a_damaged_entry(capsys):
    progress.record("01", "l0", True, kind="check")
    data = progress.load()
    data["lessons"]["01"]["check"]["l0"] = "not an entry"
    progress._write(progress.progress_path(), data)
    assert course.summary("01")["01"]["check"]["passed"] == 0


# ---------------------------------------------------------------- layering


def _modules() -> list[str]:
    return sorted(".".join(p.relative_to(LIB.parent).with_suffix("").parts).removesuffix(".__init__")
                  for p in LIB.rglob("*.py"))


def _imports(module: str) -> set[str]:
    """course_lib modules that ``module`` imports (at any depth of its code)."""
    path = LIB.parent / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = LIB.parent / module.replace(".", "/") / "__init__.py"
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            candidates = [f"{base}.{a.name}" for a in node.names] + [base]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        found |= {c for c in candidates if c in MODULES and c != module}
    return found


MODULES = _modules()


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the import graph, or None (a package importing its own submodules is none)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if dep.startswith(node + "."):
                continue  # a package re-exporting its submodules
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"p": {"p.x"}, "p.x": set()}) is None


def test_the_static_import_graph_has_no_cycle():
    graph = {m: _imports(m) for m in MODULES}
    assert graph["course_lib.course"] >= {"course_lib.checks", "course_lib.progress", "course_lib.quiz"}
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_each_module_imports_alone_in_a_fresh_interpreter():
    """No module relies on another having been imported first (which a cycle would hide)."""
    modules = [m for m in MODULES if not m.endswith("__main__")]
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "import_each.py"), *modules], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == {}


def test_the_import_check_finds_a_module_that_needs_another_imported_first(tmp_path):
    (tmp_path / "course_lib").mkdir()
    (tmp_path / "course_lib" / "__init__.py").write_text("")
    (tmp_path / "course_lib" / "a.py").write_text("import course_lib\nVALUE = course_lib.b.VALUE\n")
    (tmp_path / "course_lib" / "b.py").write_text("VALUE = 1\n")
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "import_each.py"), "course_lib.b", "course_lib.a"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(tmp_path)})
    assert list(json.loads(proc.stdout.splitlines()[-1])) == ["course_lib.a"]


LEARNER_LAYERS = ("course_lib.progress", "course_lib.quiz", "course_lib.checks", "course_lib.course",
                  "course_lib.exercises", "course_lib.grade")


def test_science_modules_never_import_the_learner_layers():
    science = [m for m in MODULES if m != "course_lib" and not m.startswith(LEARNER_LAYERS)]
    offenders = {m: sorted(d for d in _imports(m) if d.startswith(LEARNER_LAYERS)) for m in science}
    assert {m: d for m, d in offenders.items() if d} == {}


def test_the_package_docstring_names_every_module():
    names = {m.split(".")[1] for m in MODULES if m.count(".") >= 1}
    missing = [n for n in sorted(names) if f"``{n}``" not in course_lib.__doc__]
    assert missing == []


MOST_LINES = 420  # "no module much over 400 lines": split a module before it grows past this


def test_no_library_module_is_much_over_400_lines():
    sizes = {str(p.relative_to(LIB.parent)): len(p.read_text().splitlines()) for p in LIB.rglob("*.py")}
    assert len(sizes) > 30 and max(sizes.values()) > 200  # the scan sees the library
    too_long = {path: n for path, n in sizes.items() if n > MOST_LINES}
    assert not too_long, f"modules over {MOST_LINES} lines (split them by concept): {too_long}"
