"""Start a grading kernel under resource limits, and take every process it starts down with it.

Run by the grader by its path, with the standard library only (``python -I launch.py``)::

    launch.py MEMORY_BYTES PROCESSES OPEN_FILES -- COMMAND...

It sets the limits (they hold for the command and everything it starts, and cannot be raised
again from inside), then runs COMMAND as its child and waits for it, instead of becoming it:

* a kernel that kills its parent (``os.kill(os.getppid(), 9)``) kills this launcher, not the
  grader; the kernel, started with a parent-death signal, dies with it;
* on Linux the launcher is a "child subreaper": a process the kernel detaches (double fork,
  ``setsid``) comes back to it instead of to ``init``, and when COMMAND ends, or the grader
  sends SIGTERM, every process left below the launcher is killed.

Memory is limited with ``RLIMIT_DATA`` (the memory a process can write to: heap and anonymous
maps), not ``RLIMIT_AS``: torch maps over 3 GB of address space for its libraries before it
allocates anything. ``RLIMIT_AS`` is set too, a few GB higher, as a backstop.
"""
from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import time

ADDRESS_SPACE_MARGIN = 8 * 2**30  # libraries' mappings on top of the data limit
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1


def _limit(name: str, value: int) -> None:
    which = getattr(resource, name, None)
    if which is None or value <= 0:
        return
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError) as err:
        print(f"launch: could not set {name}: {err}", file=sys.stderr)


def set_limits(memory: int, processes: int, open_files: int) -> None:
    """Apply the limits to this process (and so to everything it starts)."""
    _limit("RLIMIT_DATA", memory)
    _limit("RLIMIT_AS", memory + ADDRESS_SPACE_MARGIN if memory > 0 else 0)
    _limit("RLIMIT_NPROC", processes)
    _limit("RLIMIT_NOFILE", open_files)
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Orphaned processes below this one come back to it instead of going to init (Linux)."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def descendants(root: int) -> list[int]:
    """Every process below ``root``, from ``/proc`` (Linux)."""
    parents: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def reap_children(pids: list[int]) -> None:
    """Collect the exit status of those of ``pids`` that are our children (no zombie is left)."""
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except (ChildProcessError, OSError):
            continue


def kill_all_below() -> None:
    """Kill every process below this one until none is left (new ones may appear meanwhile)."""
    for _ in range(50):
        left = descendants(os.getpid())
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
        reap()
    reap()


def forward_interrupt(signum, frame) -> None:
    """Pass an interrupt on to the kernel: it runs in a process group of its own (and in the
    sandbox a session of its own), which the grader's signal to this launcher's group does not
    reach; bwrap, which would die of it, does not get it."""
    mine = os.getpgid(0)
    for pid in descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/comm", "rb") as f:
                if f.read().strip() == b"bwrap" or os.getpgid(pid) == mine:
                    continue  # the sandbox's own processes; those in our group got the signal already
            os.kill(pid, signal.SIGINT)
        except OSError:
            continue


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[3] != "--":
        print("usage: launch.py MEMORY_BYTES PROCESSES OPEN_FILES -- COMMAND...", file=sys.stderr)
        return 2
    memory, processes, open_files = (int(a) for a in argv[:3])
    command = argv[4:]
    signal.signal(signal.SIGINT, forward_interrupt)  # an interrupt is for the kernel, not for us
    become_subreaper()
    set_limits(memory, processes, open_files)
    env = dict(os.environ)
    launcher = os.getpid()
    pid = os.fork()
    if pid == 0:
        # The command dies with this launcher (a kernel that kills its parent kills itself too),
        # at once rather than when it next polls its parent.
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != launcher:
            os._exit(137)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setpgid(0, 0)  # the grader's signals to our group reach us only: we pass them on
        env["JPY_PARENT_PID"] = str(os.getppid())  # the kernel exits when this launcher dies
        try:
            os.execvpe(command[0], command, env)
        finally:
            os._exit(127)

    def stop(signum, frame):
        kill_all_below()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # the grader died: clean up as when it asks us to
    if os.getppid() == 1:  # it died before that
        stop(signal.SIGTERM, None)
    status = 0
    while True:
        try:
            done, raw = os.waitpid(pid, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if done == pid:
            status = os.waitstatus_to_exitcode(raw)
            break
    kill_all_below()
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
