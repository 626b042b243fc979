"""Learner progress: the best result of every check and quiz question, kept in one JSON file.

The file is ``~/.sae_course/progress.json`` unless ``COURSE_PROGRESS_FILE`` names another one.
Its layout::

    {"version": 1,
     "lessons": {"02": {"check": {"l1_penalty": {"passed": true, "attempts": 3,
                                                 "first_passed": "2025-01-31T10:02:11",
                                                 "last_attempt": "2025-01-31T10:05:40"}},
                        "quiz": {"02-l1-effect": {...}}}}}

Score tables with the course's totals: :func:`course_lib.course.summary`.

Recording never raises into a notebook: a home folder that cannot be written is reported once
and results are then kept in memory for the rest of the session.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from filelock import SoftFileLock, Timeout

from course_lib import config

ENV_VAR = config.PROGRESS_FILE
DEFAULT_PATH = config.DEFAULT_PROGRESS_FILE
KINDS = ("check", "quiz")
VERSION = 1

# Results that could not be written, keyed by file path; once a path is here it stays in memory.
_memory: dict[Path, dict] = {}


def progress_path() -> Path:
    """Where progress is stored: ``$COURSE_PROGRESS_FILE`` or ``~/.sae_course/progress.json``."""
    return config.progress_file()


def _empty() -> dict:
    return {"version": VERSION, "lessons": {}}


def _warn(message: str) -> None:
    print(f"⚠️  {message}", file=sys.stderr)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _is_valid(data: object) -> bool:
    return isinstance(data, dict) and isinstance(data.get("lessons"), dict)


def _set_aside(path: Path, reason: str) -> None:
    """Move an unreadable progress file out of the way, keeping it for inspection."""
    backup = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(path, backup)
        where = f"it was moved to {backup}"
    except OSError as err:
        where = f"it could not be moved aside ({err}); it will be overwritten"
    _warn(f"Your progress file {path} could not be read ({reason}); {where}. Starting a fresh one.")


def load() -> dict:
    """Return all recorded progress (the layout in the module docstring)."""
    path = progress_path()
    if path in _memory:
        return _memory[path]
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _empty()
    except OSError as err:
        _warn(f"Cannot read your progress file {path} ({err}); starting from an empty record.")
        return _empty()
    try:
        data = json.loads(text)
    except ValueError as err:
        _set_aside(path, f"not valid JSON: {err}")
        return _empty()
    if not _is_valid(data):
        _set_aside(path, "unexpected layout")
        return _empty()
    return data


def _write(path: Path, data: dict) -> None:
    """Write ``data`` atomically: a temporary file in the same folder, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save(data: dict) -> None:
    path = progress_path()
    if path in _memory:
        _memory[path] = data
        return
    try:
        _write(path, data)
    except OSError as err:
        _memory[path] = data
        _warn(
            f"Cannot save your progress to {path} ({err}). Results are kept in memory for this "
            f"session only; set {ENV_VAR} to a writable file to keep them."
        )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold ``<file>.lock`` while reading and rewriting the file, so that two kernels recording at
    once both keep their results. Where no lock file can be made, go on without one."""
    if path in _memory:
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = SoftFileLock(str(path) + ".lock", timeout=30)  # removed again on release
        lock.acquire()
    except (OSError, Timeout):
        yield
        return
    try:
        yield
    finally:
        lock.release()


def record(lesson: str, item: str, passed: bool, kind: str) -> None:
    """Store one attempt at ``item`` (a check or quiz id) of ``lesson``; never raises.

    The best result is kept: once an item has passed it stays passed. Attempts are counted.
    """
    try:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        with _locked(progress_path()):
            _update(lesson, item, passed, kind)
    except Exception as err:  # a bookkeeping problem must never stop a learner's notebook
        _warn(f"Could not record progress for {item!r}: {err}")


def _update(lesson: str, item: str, passed: bool, kind: str) -> None:
    data = load()
    items = data["lessons"].setdefault(str(lesson), {}).setdefault(kind, {})
    entry = items.setdefault(item, {"passed": False, "attempts": 0})
    entry["attempts"] = int(entry.get("attempts", 0)) + 1
    entry["last_attempt"] = _now()
    if passed and not entry.get("passed"):
        entry["passed"] = True
        entry["first_passed"] = entry["last_attempt"]
    _save(data)
