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
import uuid
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
# One lock object per progress file, so that a process re-entering it does not wait on itself.
_locks: dict[Path, SoftFileLock] = {}


def progress_path() -> Path:
    """Where progress is stored: ``$COURSE_PROGRESS_FILE`` or ``~/.sae_course/progress.json``."""
    return config.progress_file()


def _empty() -> dict:
    return {"version": VERSION, "lessons": {}}


def _warn(message: str) -> None:
    print(f"⚠️  {message}", file=sys.stderr)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _salvage(data: object) -> tuple[dict, list[str]]:
    """The well-formed part of a parsed progress file, and what had to be left out of it."""
    if not isinstance(data, dict) or not isinstance(data.get("lessons"), dict):
        return _empty(), ["unexpected layout (no 'lessons' table)"]
    clean, dropped = _empty(), []
    for lesson, kinds in data["lessons"].items():
        if not isinstance(kinds, dict):
            dropped.append(f"lesson {lesson!r} is not a table")
            continue
        for kind, entries in kinds.items():
            if kind not in KINDS or not isinstance(entries, dict):
                dropped.append(f"lesson {lesson!r}: {kind!r} is not a table of {'/'.join(KINDS)} results")
                continue
            for item, entry in entries.items():
                if not (isinstance(entry, dict) and isinstance(entry.get("passed", False), bool)
                        and isinstance(entry.get("attempts", 0), int)):
                    dropped.append(f"lesson {lesson!r}: entry {item!r} is malformed")
                    continue
                clean["lessons"].setdefault(str(lesson), {}).setdefault(kind, {})[str(item)] = entry
    return clean, dropped


def _backup_name(path: Path) -> Path:
    """A name no other backup has, even for two set aside in the same second by two processes."""
    return path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-"
                          f"{uuid.uuid4().hex[:8]}")


def _read(path: Path) -> bytes | None:
    """The file's bytes; ``None`` when it does not exist. OSError for any other failure."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # nothing there to keep
        return None


def _set_aside(path: Path, seen: bytes | None, reason: str) -> bool:
    """Move an unreadable progress file out of the way, under the lock, keeping it for inspection.

    ``seen`` is what was read (``None`` when unreadable): a file that changed meanwhile (another
    kernel replaced it) is left alone and ``False`` returned, to be read again. Where the file
    cannot be moved, its path is served from memory from now on, so that it is never overwritten.
    """
    with _locked(path):
        try:
            if seen is not None and _read(path) != seen:
                return False
        except OSError:
            pass
        backup = _backup_name(path)
        try:
            os.replace(path, backup)
            where = f"it was moved to {backup}"
        except FileNotFoundError:
            return False
        except OSError as err:
            _memory[path] = _empty()
            where = (f"it could not be moved aside ({err}), so it is left untouched and this session's "
                     f"results are kept in memory only; set {ENV_VAR} to another file to keep them")
        _warn(f"Your progress file {path} could not be read ({reason}); {where}. Starting a fresh one.")
        return True


def load() -> dict:
    """Return all recorded progress (the layout in the module docstring). Never raises.

    A file that cannot be read or parsed is set aside under a unique name and reported; a file
    with some malformed entries keeps its well-formed ones (the original is set aside too).
    """
    path = progress_path()
    for _ in range(5):  # a file replaced by another kernel while we read it is read again
        if path in _memory:
            return _memory[path]
        try:
            raw = _read(path)
        except OSError as err:
            if _set_aside(path, None, f"{type(err).__name__}: {err.strerror or err}"):
                return _memory.get(path, _empty())
            continue
        if raw is None:
            return _empty()
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            if _set_aside(path, raw, "not text: it holds bytes that are not UTF-8"):
                return _memory.get(path, _empty())
            continue
        except ValueError as err:
            if _set_aside(path, raw, f"not valid JSON: {err}"):
                return _memory.get(path, _empty())
            continue
        clean, dropped = _salvage(data)
        if not dropped:
            return data
        if _set_aside(path, raw, "; ".join(dropped[:3]) + (f"; and {len(dropped) - 3} more" if len(dropped) > 3
                                                          else "")):
            kept = sum(len(e) for kinds in clean["lessons"].values() for e in kinds.values())
            if kept:
                _warn(f"The {kept} well-formed result(s) of that file are kept.")
            if path in _memory:
                _memory[path] = clean
            else:
                with _locked(path):
                    if not path.exists():  # unless another kernel has written a fresh file meanwhile
                        _save(clean)
            return _memory.get(path, clean)
    _warn(f"Your progress file {path} kept changing while it was read; showing an empty record.")
    return _empty()


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
        lock = _locks.setdefault(path, SoftFileLock(str(path) + ".lock", timeout=30))  # reentrant
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
