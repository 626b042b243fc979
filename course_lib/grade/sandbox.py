"""Where a submission's kernel runs: a bubblewrap sandbox under resource limits.

The kernel's command line is ``python -I launch.py LIMITS -- bwrap OPTIONS -- python -m
ipykernel_launcher -f CONNECTION_FILE`` (see :mod:`course_lib.grade.launch` for the limits).
The sandbox (``bwrap``, Debian package ``bubblewrap``) gives the kernel

* a read-only view of the whole system, so the course checkout, its ``course_lib`` and the
  virtual environment can be read and imported but not changed;
* an empty ``/tmp`` and an empty home folder of the instructor, and empty folders in place of
  the submissions' folders, the gradebook's, and the other output folders: other students'
  notebooks and the gradebook cannot be seen; only what the kernel needs to import is bound
  back in (read-only);
* its own writable work folder (the submission's copy), and the folder of its IPC sockets;
* no network (its own network namespace; the kernel talks to the grader over IPC sockets);
* its own process namespace: it cannot see or signal the grader, and every process it started
  dies with it;
* a minimal environment (:func:`kernel_environment`).

Where bubblewrap cannot start (not installed, no user namespaces, macOS) the kernel runs with
the limits only; :func:`probe` says why, and the grader says so in the summary and gradebook.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from course_lib import config

LAUNCHER = Path(__file__).resolve().with_name("launch.py")
SANDBOX = "sandbox"
LIMITS_ONLY = "rlimits only"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one kernel (0: no limit)."""

    memory: int = 4 * 2**30  # bytes of writable memory (RLIMIT_DATA)
    processes: int = 256  # processes and threads, on top of what the user already runs
    open_files: int = 1024


@functools.lru_cache(maxsize=None)
def probe() -> tuple[str | None, str]:
    """``(path of bwrap, "")`` when a sandbox can start here; else ``(None, why not)``."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None, "bubblewrap (bwrap) is not installed"
    try:
        proc = subprocess.run([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                               "--unshare-net", "--unshare-pid", "--die-with-parent", "--", sys.executable,
                               "-c", "pass"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as err:
        return None, f"bubblewrap could not start ({type(err).__name__}: {err})"
    if proc.returncode != 0:
        return None, f"bubblewrap could not start a sandbox here ({proc.stderr.strip()[-200:]})"
    return bwrap, ""


def user_tasks() -> int:
    """Processes and threads this user runs now (RLIMIT_NPROC counts them all); 0 if unknown."""
    uid, total = str(os.getuid()), 0
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return 0
    for entry in entries:
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                          if ":" in line)
        except OSError:
            continue
        if fields.get("Uid", "").split()[:1] == [uid]:
            total += int(fields.get("Threads", "1").strip() or 1)
    return total


def kernel_threads(jobs: int, cores: int | None = None) -> int:
    """Threads one kernel may use when ``jobs`` kernels share the machine's cores.

    Without a limit each kernel's torch and OpenMP start one thread per core, so two kernels
    on two cores run four busy-waiting threads and grading slows down more than twofold.
    """
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, jobs))


def kernel_environment(work: Path, fast: bool, progress_file: Path, threads: int = 0) -> dict[str, str]:
    """The kernel's whole environment: none of the grader's, except what it needs to run.

    ``PATH``, ``HOME`` (the work folder), the locale, ``PYTHONPATH`` (so that the kernel
    imports the grader's own ``course_lib`` and checks), the data folders, the course's
    settings for a grading run and, when ``threads`` > 0, the number of threads its numerical
    libraries (OpenMP, MKL, OpenBLAS, and so torch) may start.
    """
    from course_lib import data

    path_entries = [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
    inherited = config.environment(config.KERNEL_INHERITED)
    python_path = [str(LIBRARY_ROOT)] + [p for p in inherited.pop("PYTHONPATH", "").split(os.pathsep) if p]
    env = {
        "PATH": os.pathsep.join(dict.fromkeys(path_entries)),
        "HOME": str(work),
        "LANG": inherited.pop("LANG", "C.UTF-8"),
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(python_path)),
        "MPLBACKEND": "agg",
        "MPLCONFIGDIR": str(work / ".matplotlib"),
        "PYTHONDONTWRITEBYTECODE": "1",
        **inherited,
        config.DATA_DIR: str(data.cache_dir()),
        config.DEBIAN_DATA_DIR: str(data.debian_dir()),
        config.PROGRESS_FILE: str(progress_file),
        config.OFFLINE: "1",
        config.DEVICE: "cpu",
    }
    if fast:
        env[config.FAST] = "1"
    if threads > 0:
        env.update(dict.fromkeys(config.KERNEL_THREAD_VARIABLES, str(threads)))
    return env


LIBRARY_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the grader's course_lib


def needed_paths(env: dict[str, str]) -> list[Path]:
    """What the kernel must be able to read: Python, its packages, course_lib, the data."""
    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent,
             LIBRARY_ROOT / "course_lib"]
    paths += [Path(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    paths += [Path(env[config.DATA_DIR]), Path(env[config.DEBIAN_DATA_DIR])]
    return [p.resolve() for p in paths if p.exists()]


def bwrap_options(work: Path, sockets: Path, hidden: list[Path], env: dict[str, str],
                  hidden_files: list[Path] = ()) -> list[str]:
    """Mount and namespace options, environment included, for a kernel in ``work``.

    The mounts are made shallowest first, so a deeper one wins: ``/tmp``, the instructor's home
    and the ``hidden`` folders become empty, then what the kernel needs inside them is bound
    back read-only, then the hidden folders inside those are emptied again; a hidden folder the
    kernel needs itself (its ``PYTHONPATH`` holds the gradebook's folder, say) stays visible,
    but the ``hidden_files`` in it (the submissions, the gradebook) read as empty. The work
    and socket folders are bound writable last.
    """
    need_all = set(needed_paths(env))
    hide = {p.resolve() for p in [Path("/tmp"), Path.home(), *hidden] if p.exists() and p.resolve() != Path("/")}
    hide -= need_all
    need = {p for p in need_all if any(h in p.parents for h in hide)}
    mounts = sorted([(len(p.parts), 0, str(p)) for p in hide] + [(len(p.parts), 1, str(p)) for p in need])
    options = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for _depth, kind, path in mounts:
        options += ["--tmpfs", path] if kind == 0 else ["--ro-bind", path, path]

    def seen(path: Path) -> bool:  # the deepest mount over ``path`` is not an emptied folder
        over = [(depth, kind) for depth, kind, m in mounts if Path(m) == path or Path(m) in path.parents]
        return not over or max(over)[1] == 1

    for path in hidden_files:
        path = path.resolve()
        if path.is_file() and seen(path):
            options += ["--ro-bind", "/dev/null", str(path)]
    for path in (work, sockets):
        options += ["--bind", str(path), str(path)]
    options += ["--chdir", str(work), "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--die-with-parent", "--new-session", "--clearenv"]
    for key, value in env.items():
        options += ["--setenv", key, value]
    return options


def kernel_argv(kernel: list[str], *, sandboxed: bool, limits: Limits, work: Path, sockets: Path,
                hidden: list[Path], env: dict[str, str], hidden_files: list[Path] = ()) -> list[str]:
    """The command that starts ``kernel`` (``[python, -m, ipykernel_launcher, -f, {connection_file}]``)."""
    processes = limits.processes + user_tasks() if limits.processes > 0 else 0
    launcher = [sys.executable, "-I", str(LAUNCHER), str(limits.memory), str(processes), str(limits.open_files), "--"]
    if not sandboxed:
        return launcher + kernel
    bwrap, _why = probe()
    return launcher + [bwrap, *bwrap_options(work, sockets, hidden, env, hidden_files), "--", *kernel]
