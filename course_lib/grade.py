"""Grade handed-in exercise notebooks by running them again.

::

    python -m course_lib.grade SUBMISSION.ipynb... [--out gradebook.csv]
    python -m course_lib.grade submissions/          # every .ipynb in a folder

For each submission the grader

1. copies it into a fresh temporary folder and executes it top to bottom in a fresh kernel
   (nbclient), in fast mode, with its own private progress file, a time limit per cell and one
   per notebook; a cell that raises does not stop the run, a cell that runs too long is
   interrupted;
2. then, in the same kernel, throws away every loaded ``course_lib`` module, imports the checks
   afresh and runs the official check of every exercise of the lesson on the learner's function
   (each with its own time limit), and reads the learner's quiz answers from the
   ``quiz.answer("<id>", <answer>)`` lines of the notebook (clicks in a quiz form are not saved
   in a notebook, so a hand-in answers in those lines);
3. compares the modules the notebook ran with fresh copies, scans its code and compares what
   its progress file claims with the official results, to flag tampering.

Scores never come from outputs stored in the file, nor from the progress file the notebook
wrote. The gradebook (CSV) has one row per submission: ``file``, ``lesson``, ``status``
(``ok``, ``errors``, ``tampering``, ``not graded``), one column per check and per quiz question
(1 passed, 0 not), ``checks``, ``quiz``, ``score`` (percent of all items) and ``notes`` (why a
submission is not ``ok``). A file that cannot be read, loops forever or kills its kernel gets
its row and a reason; the other submissions are graded as usual.

The grader trusts the kernel only as far as Python allows: a learner who sets out to fool it
from inside the notebook can, so read the notebooks flagged ``tampering``.
"""
from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

LIBRARY_DIR = Path(__file__).resolve().parent
PROTECTED_ROOTS = ("checks", "quiz", "progress", "core", "course_lib")
DEFAULT_CELL_TIMEOUT = 120
DEFAULT_TIMEOUT = 600
DEFAULT_CHECK_TIMEOUT = 60


class NotGraded(Exception):
    """The submission cannot be graded; the message says why."""


# ---------------------------------------------------------------- what a lesson grades


@dataclass
class LessonSpec:
    """The graded items of one lesson."""

    lesson: str
    checks: list[tuple[str, str, list[str]]]  # (exercise, check function, argument sources)
    quiz: list[str]  # question ids
    reference: Path | None = None  # the official exercise notebook, when found


def _python_cells(nb: nbformat.NotebookNode) -> list[tuple[int, ast.Module]]:
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


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _first_str(node: ast.Call) -> str | None:
    if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def _calls(tree: ast.AST) -> list[ast.Call]:
    """Calls in source order."""
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def course_root() -> Path | None:
    """The checkout with ``exercises/``: the current folder, or the one course_lib lives in."""
    for root in (Path.cwd(), LIBRARY_DIR.parent):
        if (root / "exercises").is_dir():
            return root
    return None


def find_reference(lesson: str, nb: nbformat.NotebookNode | None = None) -> Path | None:
    """The official exercise notebook of ``lesson`` in the course checkout, if there is one."""
    root = course_root()
    if root is None:
        return None
    generated = (nb.metadata.get("course", {}) if nb is not None else {}).get("generated_from", "")
    if generated:
        candidate = root / "exercises" / Path(generated).name
        if candidate.is_file() and candidate.name.startswith(f"{lesson}_"):
            return candidate
    found = sorted((root / "exercises").glob(f"{lesson}_*.ipynb"))
    return found[0] if len(found) == 1 else None


def lesson_spec(lesson: str, checks_module: str = "course_lib.checks",
                reference: Path | None = None) -> LessonSpec:
    """The checks (from the registry) and quiz questions of ``lesson``.

    The argument of each check call, and the quiz questions, come from the official exercise
    notebook when one is given; otherwise every registered check ``<name>`` is called as
    ``check_<name>(<name>)`` and every quiz question of the lesson counts.
    """
    import importlib

    from course_lib import quiz
    from course_lib.checks.core import registered

    module = importlib.import_module(checks_module)
    names = list(registered().get(lesson, []))
    arguments: dict[str, list[str]] = {}
    quiz_ids: list[str] = []
    bank = {q["id"] for q in quiz.questions(lesson)}
    if reference is not None:
        ref = nbformat.read(str(reference), as_version=4)
        for _index, tree in _python_cells(ref):
            for call in _calls(tree):
                name = _call_name(call)
                if name.startswith("check_") and name not in arguments and call.args:
                    arguments[name] = [ast.unparse(arg) for arg in call.args]
                    if name[len("check_"):] not in names:
                        names.append(name[len("check_"):])
                qid = _first_str(call)
                if name in ("ask", "answer") and qid in bank and qid not in quiz_ids:
                    quiz_ids.append(qid)
    else:
        quiz_ids = [q["id"] for q in quiz.questions(lesson)]
    checks = []
    for name in names:
        function = f"check_{name}"
        if not callable(getattr(module, function, None)):
            raise NotGraded(f"{checks_module} has no {function} for the registered exercise {name!r}")
        checks.append((name, function, arguments.get(function, [name])))
    return LessonSpec(lesson, checks, quiz_ids, reference)


def detect_lesson(nb: nbformat.NotebookNode, path: Path) -> str | None:
    """The lesson number: from the generated notebook's metadata, else from a ``NN_`` file name."""
    generated = nb.metadata.get("course", {}).get("generated_from", "")
    for name in (Path(generated).name, path.name):
        match = re.match(r"(\d\d)_", name) or re.search(r"(?:^|[^0-9])(\d\d)_", name)
        if match:
            return match.group(1)
    return None


# ---------------------------------------------------------------- reading the submission's code


def quiz_answers(nb: nbformat.NotebookNode, ids: list[str]) -> dict[str, tuple[str, object]]:
    """The last ``answer("<id>", X)`` call per question: ``("value", X)`` or ``("expr", source)``.

    Only calls at the top level of a cell count (an answer inside a function is not a hand-in
    line). A literal ``None`` means "not answered" and is left out.
    """
    found: dict[str, tuple[str, object]] = {}
    for _index, tree in _python_cells(nb):
        for stmt in tree.body:
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if not isinstance(call, ast.Call) or _call_name(call) != "answer" or len(call.args) < 2:
                continue
            qid = _first_str(call)
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


def _root_name(node: ast.AST) -> str:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def static_tampering(nb: nbformat.NotebookNode, extra_modules: tuple[str, ...] = ()) -> list[str]:
    """Lines of code that change the grading machinery or touch the progress file."""
    modules = ("course_lib",) + tuple(extra_modules)
    protected = set(PROTECTED_ROOTS) | {m.split(".")[0] for m in modules}
    notes: list[str] = []
    for index, tree in _python_cells(nb):
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
                name = _call_name(node)
                if name in ("setattr", "delattr") and node.args and _root_name(node.args[0]) in protected:
                    notes.append(f"{where} calls `{name}` on `{ast.unparse(node.args[0])}`")
                if isinstance(node.func, ast.Attribute) and _root_name(node.func) in protected and \
                        name in ("record", "_save", "_write", "progress_path"):
                    notes.append(f"{where} calls `{ast.unparse(node.func)}`")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    "progress.json" in node.value or "COURSE_PROGRESS_FILE" in node.value):
                notes.append(f"{where} mentions the progress file ({node.value!r})")
    return list(dict.fromkeys(notes))


# ---------------------------------------------------------------- running it


_PROLOGUE = r'''
def __course_snapshot__(roots, modules):
    import importlib, sys, types
    for name in modules:
        importlib.import_module(name)
    snapshot = {}
    for n, m in list(sys.modules.items()):
        if m is None or not any(n == r or n.startswith(r + ".") for r in roots):
            continue
        functions = {}
        for attr, value in vars(m).items():
            if isinstance(value, types.FunctionType):
                functions[attr] = (value, value.__code__)
            elif isinstance(value, type) and value.__module__ == n:
                for meth, fn in vars(value).items():
                    if isinstance(fn, types.FunctionType):
                        functions[attr + "." + meth] = (fn, fn.__code__)
        snapshot[n] = functions
    return snapshot


__course_module__ = __import__("types").ModuleType(__SNAPSHOT_KEY__)
__course_module__.snapshot = __course_snapshot__(__ROOTS__, __MODULES__)
__import__("sys").modules[__SNAPSHOT_KEY__] = __course_module__
del __course_module__
del __course_snapshot__
'''


_EPILOGUE = r'''
def __course_grading__(params):
    import contextlib, importlib, io, json, os, signal, sys, threading, types
    from IPython import get_ipython

    ns = get_ipython().user_ns
    out = {"checks": {}, "quiz": {}, "tampering": [], "errors": []}
    roots = params["module_roots"]

    def ours(name):
        return any(name == r or name.startswith(r + ".") for r in roots)

    old = {n: m for n, m in list(sys.modules.items()) if ours(n) and m is not None}
    for n in old:
        del sys.modules[n]
    os.environ["COURSE_PROGRESS_FILE"] = params["progress_file"]
    os.environ.pop("COURSE_STRICT_CHECKS", None)
    try:
        checks = importlib.import_module(params["checks_module"])
    except BaseException as err:
        out["errors"].append("could not import %s: %s: %s" % (params["checks_module"], type(err).__name__, err))
        checks = None

    snapshot = getattr(sys.modules.pop(params["snapshot_key"], None), "snapshot", None)
    if not isinstance(snapshot, dict):
        out["tampering"].append("the grader's record of the course modules was removed")
    else:
        for n, functions in sorted(snapshot.items()):
            mod = old.get(n)
            for key, (fn, code) in functions.items():
                owner = mod
                for part in key.split("."):
                    owner = vars(owner).get(part) if owner is not None and hasattr(owner, "__dict__") else None
                if owner is not fn or getattr(fn, "__code__", None) is not code:
                    out["tampering"].append("%s.%s was replaced" % (n, key))

    def from_library(obj):
        code = getattr(obj, "__code__", None)
        return code is not None and os.path.abspath(code.co_filename).startswith(params["library_dir"])

    for exercise, function, _args in params["checks"]:
        value = ns.get(function)
        if value is not None and not from_library(value):
            out["tampering"].append("the notebook defines its own %s" % function)

    class GradingTimeout(BaseException):
        pass

    def alarm(signum, frame):
        raise GradingTimeout()

    limit = params["check_timeout"]
    use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGALRM, alarm) if use_alarm else None
    try:
        for exercise, function, arg_sources in params["checks"]:
            entry = {"passed": False, "status": "error", "message": ""}
            out["checks"][exercise] = entry
            check = getattr(checks, function, None)
            if check is None:
                entry["message"] = "the course has no %s" % function
                continue
            try:
                args = [eval(src, ns) for src in arg_sources]
            except NameError as err:
                entry.update(status="missing", message="not defined (%s)" % err)
                continue
            except BaseException as err:
                entry["message"] = "%s: %s" % (type(err).__name__, err)
                continue
            if args and from_library(args[0]):
                entry.update(status="reference", message="is the course's own implementation, not the learner's")
                out["tampering"].append("%s is the course's reference implementation" % exercise)
                continue
            buffer = io.StringIO()
            try:
                if use_alarm:
                    signal.setitimer(signal.ITIMER_REAL, limit)
                with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                    result = check(*args)
                entry.update(passed=bool(result.passed), status=str(result.status), message=str(result.message))
            except GradingTimeout:
                entry.update(status="timeout", message="did not finish within %s s" % limit)
            except BaseException as err:
                entry["message"] = "%s: %s" % (type(err).__name__, err)
            finally:
                if use_alarm:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        for qid, source in params["quiz_exprs"]:
            try:
                if use_alarm:
                    signal.setitimer(signal.ITIMER_REAL, limit)
                value = eval(source, ns)
                out["quiz"][qid] = value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
            except BaseException as err:
                out["quiz"][qid] = None
                out["errors"].append("quiz %s: the answer %s raised %s" % (qid, source, type(err).__name__))
            finally:
                if use_alarm:
                    signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        if use_alarm:
            signal.signal(signal.SIGALRM, previous)
    with open(params["result_file"], "w", encoding="utf-8") as f:
        json.dump(out, f)


__course_grading__(__import__("json").loads(__PARAMS__))
del __course_grading__
'''


def _first_line(cell: nbformat.NotebookNode, width: int = 50) -> str:
    line = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def _cell_errors(cell: nbformat.NotebookNode) -> list[str]:
    return [f"{o.get('ename', 'Error')}: {o.get('evalue', '')}".strip().rstrip(":")
            for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def this_python_kernel():
    """A kernel manager for a kernel of this very interpreter (not whatever ``python3`` names)."""
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())


@dataclass
class _Run:
    notes: list[str] = field(default_factory=list)
    fatal: str = ""  # why nothing could be graded
    result: dict | None = None


def _execute(nb: nbformat.NotebookNode, workdir: Path, env: dict, *, cell_timeout: float,
             timeout: float, prologue: str, epilogue: str, epilogue_timeout: float) -> _Run:
    """Run every code cell, then the grading step, in one fresh kernel."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import run_sync

    run = _Run()
    client = NotebookClient(nb, km=this_python_kernel(), timeout=int(cell_timeout), allow_errors=True,
                            record_timing=False, resources={"metadata": {"path": str(workdir)}})

    def execute(cell, index, limit) -> str:
        client.timeout = max(1, int(limit + 0.999))
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            return "timeout"
        return "ok"

    def execute_extra(source: str, limit: float) -> tuple[str, nbformat.NotebookNode]:
        """Run code that is not part of the notebook (the cell is removed again afterwards)."""
        cell = nbformat.v4.new_code_cell(source)
        nb.cells.append(cell)
        try:
            return execute(cell, len(nb.cells) - 1, limit), cell
        finally:
            nb.cells.remove(cell)

    try:
        with client.setup_kernel(env=env):
            status, cell = execute_extra(prologue, max(cell_timeout, 120))  # imports torch
            if status == "timeout" or _cell_errors(cell):
                run.notes.append("the grader could not import the course's checks before the run ("
                                 + (_cell_errors(cell) or ["timed out"])[0] + ")")
            deadline = time.monotonic() + timeout
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                where = f"cell {index + 1} ({_first_line(cell)})"
                left = deadline - time.monotonic()
                if left <= 0:
                    run.notes.append(f"stopped at {where}: the notebook ran longer than {timeout:g} s")
                    break
                limit = min(cell_timeout, left)
                if execute(cell, index, limit) == "timeout":
                    run.notes.append(f"{where} ran longer than {limit:g} s and was interrupted")
                    run_sync(client.km.interrupt_kernel)()
                    if execute_extra("pass", 30)[0] == "timeout":
                        run.fatal = f"the kernel stopped responding after {where} was interrupted"
                        return run
                    continue
                errors = [e for e in _cell_errors(cell) if not e.startswith("KeyboardInterrupt")]
                if errors:
                    run.notes.append(f"{where} raised {errors[0]}")
            status, grading = execute_extra(epilogue, epilogue_timeout)
            if status == "timeout":
                run.fatal = f"the grading step did not finish within {epilogue_timeout:g} s"
            elif _cell_errors(grading):
                run.fatal = f"the grading step failed ({_cell_errors(grading)[0]})"
    except DeadKernelError:
        run.fatal = "the kernel died (the notebook ended its own Python process or crashed it)"
    except Exception as err:  # kernel start-up and messaging problems
        run.fatal = f"could not run the notebook ({type(err).__name__}: {err})"
    return run


# ---------------------------------------------------------------- one submission


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


def _progress_claims(path: Path, lesson: str) -> tuple[dict[str, set[str]], str]:
    """Items the run's own progress file marks passed, per kind; and a problem, if any."""
    if not path.exists():
        return {"check": set(), "quiz": set()}, ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["lessons"].get(lesson, {})
        return {kind: {item for item, e in entries.get(kind, {}).items() if e.get("passed")}
                for kind in ("check", "quiz")}, ""
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        return {"check": set(), "quiz": set()}, f"the progress file it wrote is not in the course's format ({err})"


def grade_notebook(path: Path, *, lesson: str | None = None, checks_module: str = "course_lib.checks",
                   reference: Path | None = None, cell_timeout: float = DEFAULT_CELL_TIMEOUT,
                   timeout: float = DEFAULT_TIMEOUT, check_timeout: float = DEFAULT_CHECK_TIMEOUT,
                   fast: bool = True, executed_dir: Path | None = None) -> Row:
    """Grade one submission; never raises for a problem with the submission itself."""
    from course_lib import quiz

    path = Path(path)
    row = Row(file=str(path), lesson=lesson or detect_lesson(nbformat.v4.new_notebook(), path) or "")
    try:
        try:
            nb = nbformat.read(str(path), as_version=4)
            nbformat.validate(nb)
        except Exception as err:  # JSON errors, validation errors, unreadable files
            raise NotGraded(f"not a valid notebook ({type(err).__name__}: {_short(err)})") from None
        row.lesson = lesson or detect_lesson(nb, path) or ""
        if not row.lesson:
            raise NotGraded("cannot tell which lesson this is: name it NN_<name>.ipynb or pass --lesson")
        ref = reference if reference is not None else find_reference(row.lesson, nb)
        spec = lesson_spec(row.lesson, checks_module, ref)
        if not spec.checks and not spec.quiz:
            raise NotGraded(f"lesson {row.lesson} has no checks and no quiz questions to grade")
        answers = quiz_answers(nb, spec.quiz)
        module_roots = ["course_lib"] + ([checks_module] if not checks_module.startswith("course_lib") else [])
        static = static_tampering(nb, tuple(module_roots[1:]))
        run, claims = _run_submission(path, spec, answers, module_roots, checks_module,
                                      cell_timeout, timeout, check_timeout, fast, executed_dir)
        if run.fatal:
            row.notes = run.notes + [run.fatal] + static
            raise NotGraded(None)
        result = run.result or {}
        for exercise, _function, _args in spec.checks:
            entry = result.get("checks", {}).get(exercise, {})
            row.checks[exercise] = int(bool(entry.get("passed")))
            if not entry.get("passed"):
                row.details[exercise] = f"{entry.get('status', 'error')}: {entry.get('message', '')}".strip()
        bank = {q["id"]: q for q in quiz.questions(row.lesson)}
        for qid in spec.quiz:
            kind, value = answers.get(qid, ("none", None))
            if kind == "expr":
                value = result.get("quiz", {}).get(qid)
            verdict = quiz.grade(bank[qid], value) if value is not None else None
            row.quiz[qid] = int(bool(verdict))
            if verdict is None:
                row.details[qid] = ("not answered: write the answer in its quiz.answer(...) line"
                                    if value is None else f"could not read {value!r} as an answer")
        tampering = static + list(result.get("tampering", []))
        claims_map, claims_problem = claims
        if claims_problem:
            tampering.append(claims_problem)
        for kind, items in (("check", row.checks), ("quiz", row.quiz)):
            for item in sorted(claims_map[kind]):
                if item in items and not items[item]:
                    tampering.append(f"its progress file says {item} passed, but the official re-run says no")
        errors = run.notes + list(result.get("errors", []))
        row.notes = errors + list(dict.fromkeys(tampering))
        row.status = "tampering" if tampering else "errors" if errors else "ok"
    except NotGraded as err:
        row.status = "not graded"
        if err.args and err.args[0]:
            row.notes.insert(0, err.args[0])
        row.checks, row.quiz = {}, {}
    except Exception as err:  # a bug in the grader must not stop the other submissions
        row.status = "not graded"
        row.notes.insert(0, f"the grader failed on this file ({type(err).__name__}: {_short(err)})")
        row.checks, row.quiz = {}, {}
    return row


def _short(err: BaseException, limit: int = 160) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _run_submission(path, spec, answers, module_roots, checks_module, cell_timeout, timeout,
                    check_timeout, fast, executed_dir):
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        tmp = Path(tmp)
        work = tmp / "work"
        work.mkdir()
        shutil.copy2(path, work / "submission.ipynb")
        nb = nbformat.read(str(work / "submission.ipynb"), as_version=4)
        nonce = secrets.token_hex(8)
        params = {
            "module_roots": module_roots,
            "checks_module": checks_module,
            "progress_file": str(tmp / f"official-{nonce}.json"),
            "snapshot_key": f"_course_grading_{nonce}",
            "result_file": str(tmp / f"result-{nonce}.json"),
            "library_dir": str(LIBRARY_DIR),
            "check_timeout": check_timeout,
            "checks": spec.checks,
            "quiz_exprs": [(qid, src) for qid, (kind, src) in answers.items() if kind == "expr"],
        }
        env = dict(os.environ)
        env.pop("COURSE_STRICT_CHECKS", None)
        env["COURSE_PROGRESS_FILE"] = str(tmp / "run-progress.json")
        if fast:
            env["COURSE_FAST"] = "1"
        else:
            env.pop("COURSE_FAST", None)
        n_items = len(spec.checks) + len(params["quiz_exprs"])
        run = _execute(nb, work, env, cell_timeout=cell_timeout, timeout=timeout,
                       prologue=_PROLOGUE.replace("__SNAPSHOT_KEY__", repr(params["snapshot_key"]))
                       .replace("__ROOTS__", repr(module_roots))
                       .replace("__MODULES__", repr([checks_module, "course_lib.quiz", "course_lib.progress"])),
                       epilogue=_EPILOGUE.replace("__PARAMS__", repr(json.dumps(params))),
                       epilogue_timeout=check_timeout * max(1, n_items) + 60)
        result_file = Path(params["result_file"])
        if not run.fatal:
            try:
                run.result = json.loads(result_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                run.fatal = f"the grading step left no readable result ({type(err).__name__})"
        claims = _progress_claims(tmp / "run-progress.json", spec.lesson)
        if executed_dir is not None:
            executed_dir.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(executed_dir / Path(path).name))
    return run, claims


# ---------------------------------------------------------------- the gradebook


def _columns(rows: list[Row]) -> tuple[list[str], list[str]]:
    checks, quiz = [], []
    for row in sorted(rows, key=lambda r: r.lesson):
        checks += [c for c in row.checks if c not in checks]
        quiz += [q for q in row.quiz if q not in quiz]
    return checks, quiz


def write_gradebook(rows: list[Row], out: Path) -> None:
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


def _expand(paths: list[Path]) -> list[Path]:
    found = []
    for p in paths:
        if p.is_dir():
            found += sorted(q for q in p.glob("*.ipynb") if q.is_file())
        else:
            found.append(p)
    return found


def main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
