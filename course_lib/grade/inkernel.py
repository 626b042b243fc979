"""The part of the grader that runs inside the learner's kernel.

The grader sends the kernel two one-line cells (see :func:`course_lib.grade.submission.kernel_cell`),
each of which loads this file afresh from the grader's own library folder, by its path, and
calls one entry point with its parameters as a JSON string:

* :func:`prologue`, before the notebook's first cell: imports the course modules and records
  every function they define (:func:`snapshot`), out of the learner's reach under a secret
  name in ``sys.modules``;
* :func:`epilogue`, after the notebook's last cell: throws away every loaded course module,
  imports the checks afresh, compares the modules the notebook ran with the record, runs the
  official check of every exercise on the learner's function (each with a time limit) and
  evaluates computed quiz answers; the result goes back to the grader as an output of that
  cell (no file that the notebook's code could rewrite).

Loading by path, not by ``import course_lib...``, means that a module the notebook left in
``sys.modules`` cannot stand in for this one; for the same reason this file imports only the
standard library (and IPython, for the kernel's namespace), never ``course_lib``.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import signal
import sys
import threading
import types
from typing import Any, Iterator


def is_ours(name: str, roots: list[str]) -> bool:
    """Whether module ``name`` is one of ``roots`` or inside one of them."""
    return any(name == r or name.startswith(r + ".") for r in roots)


def snapshot(roots: list[str], modules: list[str]) -> dict[str, dict[str, tuple]]:
    """Import ``modules``, then record every function (and method, and course object that can be
    called, such as a check) of every loaded module under ``roots``.

    ``{module: {"name" or "Class.method": (function, its code object)}}``.
    """
    for name in modules:
        importlib.import_module(name)
    record = {}
    for n, m in list(sys.modules.items()):
        if m is None or not is_ours(n, roots):
            continue
        functions = {}
        for attr, value in vars(m).items():
            if isinstance(value, types.FunctionType):
                functions[attr] = (value, value.__code__)
            elif callable(value) and not isinstance(value, type) and is_ours(type(value).__module__, roots):
                functions[attr] = (value, None)  # a course object such as a Check: its identity
            elif isinstance(value, type) and value.__module__ == n:
                for meth, fn in vars(value).items():
                    if isinstance(fn, types.FunctionType):
                        functions[attr + "." + meth] = (fn, fn.__code__)
        record[n] = functions
    return record


def install_snapshot(key: str, roots: list[str], modules: list[str]) -> None:
    """Keep :func:`snapshot` in ``sys.modules[key]`` (a module with a ``snapshot`` attribute)."""
    holder = types.ModuleType(key)
    holder.snapshot = snapshot(roots, modules)
    holder.machinery = (list(sys.path), list(sys.meta_path), list(sys.path_hooks))
    sys.modules[key] = holder


def take_snapshot(key: str) -> dict | None:
    """Remove the record kept by :func:`install_snapshot`; ``None`` if it is gone or not a record.

    The import machinery (``sys.path``, ``sys.meta_path``, ``sys.path_hooks``) is put back as
    it was before the notebook ran, so that the checks are imported afresh from where the
    grader's are, not from a copy the notebook pointed Python to.
    """
    holder = sys.modules.pop(key, None)
    machinery = getattr(holder, "machinery", None)
    if isinstance(machinery, tuple) and len(machinery) == 3:
        sys.path[:], sys.meta_path[:], sys.path_hooks[:] = machinery
        sys.path_importer_cache.clear()
    record = getattr(holder, "snapshot", None)
    return record if isinstance(record, dict) else None


def fingerprint(code: types.CodeType) -> tuple:
    """What a function's code is, wherever its file lies: name, bytecode, names and constants."""
    consts = tuple(fingerprint(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts)
    return (code.co_name, code.co_code, code.co_names, code.co_varnames, consts)


def course_fingerprints(roots: list[str]) -> set[tuple]:
    """Fingerprints of every function (and method) of the loaded course modules."""
    found = set()
    for name, module in list(sys.modules.items()):
        if module is None or not is_ours(name, roots):
            continue
        for value in list(vars(module).values()):
            members = vars(value).values() if isinstance(value, type) else [value]
            for fn in members:
                if isinstance(fn, types.FunctionType):
                    found.add(fingerprint(fn.__code__))
    return found


def is_course_code(obj: Any, library_dir: str, roots: list[str], prints: set[tuple]) -> bool:
    """Whether ``obj`` is one of the course's functions: by its file, its module or its very code.

    The module and the code catch a copy of ``course_lib`` imported from another folder.
    """
    if from_library(obj, library_dir):
        return True
    fn = obj if isinstance(obj, types.FunctionType) else getattr(obj, "__func__", None)
    if not isinstance(fn, types.FunctionType):
        return False
    module = getattr(fn, "__module__", None) or ""
    return is_ours(module, roots) or fingerprint(fn.__code__) in prints


def purge(roots: list[str]) -> dict[str, types.ModuleType]:
    """Drop every loaded module under ``roots`` from ``sys.modules``; return them."""
    old = {n: m for n, m in list(sys.modules.items()) if is_ours(n, roots) and m is not None}
    for n in old:
        del sys.modules[n]
    return old


def replaced(record: dict, old: dict[str, types.ModuleType]) -> list[str]:
    """The recorded functions that the modules ``old`` no longer hold, or hold with other code."""
    notes = []
    for n, functions in sorted(record.items()):
        mod = old.get(n)
        for key, (fn, code) in functions.items():
            owner = mod
            for part in key.split("."):
                owner = vars(owner).get(part) if owner is not None and hasattr(owner, "__dict__") else None
            if owner is not fn or getattr(fn, "__code__", None) is not code:
                notes.append("%s.%s was replaced" % (n, key))
    return notes


def from_library(obj: Any, library_dir: str) -> bool:
    """Whether ``obj`` is a function (or a callable object) whose code comes from a file under ``library_dir``."""
    code = getattr(obj, "__code__", None)
    if code is None and callable(obj) and not isinstance(obj, type):  # a callable object: its class's
        code = getattr(type(obj).__call__, "__code__", None)
    return code is not None and os.path.abspath(code.co_filename).startswith(library_dir)


def own_definitions(ns: dict, checks: list, library_dir: str) -> list[str]:
    """Check functions that the notebook defined itself instead of importing the course's."""
    notes = []
    for _exercise, function, _args in checks:
        value = ns.get(function)
        if value is not None and not from_library(value, library_dir):
            notes.append("the notebook defines its own %s" % function)
    return notes


class GradingTimeout(BaseException):
    """A check or an answer ran past its time limit."""


def _alarm(signum, frame):
    raise GradingTimeout()


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`GradingTimeout` in the block after ``seconds`` (main thread with SIGALRM only)."""
    if not (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()):
        yield
        return
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_check(check: Any, function: str, arg_sources: list[str], ns: dict, limit: float,
              library_dir: str, is_reference=None) -> tuple[dict, bool]:
    """Run one official check on the arguments ``arg_sources`` evaluated in ``ns``.

    The entry ``{"passed", "status", "message"}``, and whether the argument is the course's own
    implementation (which is not graded).
    """
    entry = {"passed": False, "status": "error", "message": ""}
    if check is None:
        entry["message"] = "the course has no %s" % function
        return entry, False
    try:
        args = [eval(src, ns) for src in arg_sources]
    except NameError as err:
        entry.update(status="missing", message="not defined (%s)" % err)
        return entry, False
    except BaseException as err:
        entry["message"] = "%s: %s" % (type(err).__name__, err)
        return entry, False
    if args and (is_reference or (lambda obj: from_library(obj, library_dir)))(args[0]):
        entry.update(status="reference", message="is the course's own implementation, not the learner's")
        return entry, True
    buffer = io.StringIO()
    try:
        with time_limit(limit), contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            result = check(*args)
            entry.update(passed=bool(result.passed), status=str(result.status), message=str(result.message))
    except GradingTimeout:
        entry.update(status="timeout", message="did not finish within %s s" % limit)
    except BaseException as err:
        entry["message"] = "%s: %s" % (type(err).__name__, err)
    return entry, False


def evaluate_answer(source: str, ns: dict, limit: float) -> tuple[Any, str]:
    """A computed quiz answer as plain data, and an error (``""`` if none)."""
    try:
        with time_limit(limit):
            value = eval(source, ns)
            return (value if isinstance(value, (str, int, float, bool)) or value is None else str(value)), ""
    except BaseException as err:
        return None, type(err).__name__


def grade(params: dict, ns: dict) -> dict:
    """The official results of the notebook whose namespace is ``ns``.

    ``{"checks": {exercise: entry}, "quiz": {id: value}, "tampering": [...], "errors": [...]}``.
    """
    out: dict = {"checks": {}, "quiz": {}, "tampering": [], "errors": []}
    old = purge(params["module_roots"])
    os.environ["COURSE_PROGRESS_FILE"] = params["progress_file"]
    os.environ.pop("COURSE_STRICT_CHECKS", None)
    record = take_snapshot(params["snapshot_key"])
    if record is None:
        out["tampering"].append("the grader's record of the course modules was removed")
    else:
        out["tampering"] += replaced(record, old)
    try:
        checks = importlib.import_module(params["checks_module"])
    except BaseException as err:
        out["errors"].append("could not import %s: %s: %s" % (params["checks_module"], type(err).__name__, err))
        checks = None
    expected = params.get("checks_file")
    where = os.path.realpath(getattr(checks, "__file__", None) or "?")
    if checks is not None and expected and where != os.path.realpath(expected):
        out["tampering"].append("the checks were imported from %s, not from the course (%s)" % (where, expected))
        checks = None
    out["tampering"] += own_definitions(ns, params["checks"], params["library_dir"])
    prints = course_fingerprints(params["module_roots"])
    fresh = snapshot(params["module_roots"], [])

    def is_reference(obj):
        return is_course_code(obj, params["library_dir"], params["module_roots"], prints)

    limit = params["check_timeout"]
    for exercise, function, arg_sources in params["checks"]:
        entry, reference = run_check(getattr(checks, function, None), function, arg_sources, ns, limit,
                                     params["library_dir"], is_reference)
        if reference:
            out["tampering"].append("%s is the course's reference implementation" % exercise)
        out["checks"][exercise] = entry
    for qid, source in params["quiz_exprs"]:
        out["quiz"][qid], error = evaluate_answer(source, ns, limit)
        if error:
            out["errors"].append("quiz %s: the answer %s raised %s" % (qid, source, error))
    changed = replaced(fresh, {n: m for n, m in sys.modules.items() if m is not None})
    out["tampering"] += ["while the checks ran, " + note for note in changed]
    return out


def prologue(params_json: str) -> None:
    """Entry point before the notebook runs: ``{"snapshot_key", "module_roots", "modules"}``."""
    params = json.loads(params_json)
    install_snapshot(params["snapshot_key"], params["module_roots"], params["modules"])


def epilogue(params_json: str, ns: dict | None = None) -> None:
    """Entry point after the notebook ran: grade it in the kernel's namespace, show the result."""
    params = json.loads(params_json)
    if ns is None:
        from IPython import get_ipython

        ns = get_ipython().user_ns
    out = grade(params, ns)
    from IPython.display import display

    # The result goes to the grader as an output of this cell, over the kernel's own messages:
    # no file that other code of the notebook could rewrite.
    display({params["result_mime"]: params["result_marker"] + json.dumps(out)}, raw=True)
