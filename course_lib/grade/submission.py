"""Executing one submission: a private copy, run top to bottom in a fresh kernel (nbclient).

Before the first cell and after the last, the kernel runs a one-line cell from
:func:`kernel_cell` that loads :mod:`course_lib.grade.inkernel` from the grader's library and
calls its ``prologue`` or ``epilogue``. The kernel is shut down (its whole process group
killed) when the run ends, however it ends.
"""
from __future__ import annotations

import json
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_lib.grade.source import first_line
from course_lib.grade.spec import LIBRARY_DIR, LessonSpec
from course_lib.grade.sandbox import Limits, kernel_argv, kernel_environment
from course_lib.grade.tamper import progress_claims

INKERNEL = Path(__file__).resolve().with_name("inkernel.py")
INKERNEL_NAME = "_course_grading_inkernel"  # the name it is loaded under in the kernel (not in sys.modules)
RESULT_MIME = "application/x-course-grading"  # the grading step's output that carries the result


def kernel_cell(entry: str, params: dict) -> str:
    """The one line that runs ``inkernel.<entry>(json.dumps(params))`` in the kernel.

    The module is loaded from its file in the grader's library, not imported by name, so that
    nothing the notebook put in ``sys.modules`` or on ``sys.path`` can stand in for it; the
    names the line binds are deleted again.
    """
    return (f"import importlib.util as __course_u; "
            f"__course_m = __course_u.module_from_spec(__course_u.spec_from_file_location("
            f"{INKERNEL_NAME!r}, {str(INKERNEL)!r})); "
            f"__course_m.__spec__.loader.exec_module(__course_m); "
            f"__course_m.{entry}({json.dumps(params)!r}); del __course_u, __course_m")


def cell_errors(cell: nbformat.NotebookNode) -> list[str]:
    """``"Name: value"`` of every error the cell's outputs show."""
    return [f"{o.get('ename', 'Error')}: {o.get('evalue', '')}".strip().rstrip(":")
            for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def this_python_kernel(kernel_argv=None, **manager_options):
    """A kernel manager for a kernel of this very interpreter (not whatever ``python3`` names).

    ``kernel_argv``, when given, turns the kernel's command line into the one to run (e.g.
    inside a sandbox); ``manager_options`` go to the manager (transport, connection file).
    """
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            spec = get_kernel_dict()
            if kernel_argv is not None:
                spec["argv"] = kernel_argv(spec["argv"])
            return KernelSpec(resource_dir=RESOURCES, **spec)

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisPython(), **manager_options)


def shut_down(client, km) -> None:
    """Stop the client's channels and kill the kernel and everything it started, whatever state it is in.

    The launcher (:mod:`course_lib.grade.launch`) is asked first (SIGTERM): it kills every
    process below it, including those that left the kernel's process group; then the process
    group is killed.
    """
    from nbclient.util import run_sync

    try:
        if client.kc is not None:
            client.kc.stop_channels()
            client.kc = None
    finally:
        process = getattr(getattr(km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            try:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)


@dataclass
class Run:
    """What executing a submission gave."""

    notes: list[str] = field(default_factory=list)
    fatal: str = ""  # why nothing could be graded
    result: dict | None = None
    grading_output: list = field(default_factory=list)  # the outputs of the grading step


@dataclass
class Isolation:
    """How a submission's kernel is run: sandboxed or not, its limits, the folders it must not see."""

    sandboxed: bool = True
    limits: Limits = field(default_factory=Limits)
    hidden: tuple[Path, ...] = ()  # folders the kernel must not see
    hidden_files: tuple[Path, ...] = ()  # files it must not read (where their folder is needed)
    threads: int = 0  # threads its numerical libraries may start (0: their default, one per core)


def execute_notebook(nb: nbformat.NotebookNode, workdir: Path, km, env: dict, *, cell_timeout: float,
                     timeout: float, prologue: str, epilogue: str, epilogue_timeout: float) -> Run:
    """Run every code cell, then the grading step, in one fresh kernel; shut it down afterwards."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import run_sync

    run = Run()
    # iopub_timeout: how long to wait for a cell's outputs after its reply. nbclient's default (4 s)
    # drops outputs that lag behind on a loaded machine, the grading result among them.
    client = NotebookClient(nb, km=km, timeout=int(cell_timeout), allow_errors=True, iopub_timeout=60,
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
        with client.setup_kernel(env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL):
            status, cell = execute_extra(prologue, max(cell_timeout, 120))  # imports torch
            if status == "timeout" or cell_errors(cell):
                run.notes.append("the grader could not import the course's checks before the run ("
                                 + (cell_errors(cell) or ["timed out"])[0] + ")")
            deadline = time.monotonic() + timeout
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                where = f"cell {index + 1} ({first_line(cell)})"
                left = deadline - time.monotonic()
                if left <= 0:
                    run.notes.append(f"stopped at {where}: the notebook ran longer than {timeout:g} s")
                    break
                limit = min(cell_timeout, left)
                if execute(cell, index, limit) == "timeout":
                    run.notes.append(f"{where} ran longer than {limit:g} s and was interrupted")
                    run_sync(client.km.interrupt_kernel)()
                    # A fresh client: the timed-out cell's cancelled output reader leaves the old
                    # client's channel dropping the next cells' outputs (the grading result too).
                    client.kc.stop_channels()
                    client.start_new_kernel_client()
                    if execute_extra("pass", 30)[0] == "timeout":
                        run.fatal = f"the kernel stopped responding after {where} was interrupted"
                        return run
                    continue
                errors = [e for e in cell_errors(cell) if not e.startswith("KeyboardInterrupt")]
                if errors:
                    run.notes.append(f"{where} raised {errors[0]}")
            status, grading = execute_extra(epilogue, epilogue_timeout)
            run.grading_output = list(grading.get("outputs", []))
            if status == "timeout":
                run.fatal = f"the grading step did not finish within {epilogue_timeout:g} s"
            elif cell_errors(grading):
                run.fatal = f"the grading step failed ({cell_errors(grading)[0]})"
    except DeadKernelError:
        run.fatal = "the kernel died (the notebook ended its own Python process or crashed it)"
    except Exception as err:  # kernel start-up and messaging problems
        run.fatal = f"could not run the notebook ({type(err).__name__}: {err})"
    finally:
        shut_down(client, km)
    return run


def read_result(outputs: list, marker: str) -> tuple[dict | None, str]:
    """The grading step's result, from the kernel's output messages: ``(result, problem)``.

    The in-kernel step shows its result once, as a ``RESULT_MIME`` output starting with
    ``marker``; there is no file in between that the notebook's code could rewrite. More than
    one such output means something else in the kernel made one up.
    """
    found = []
    for output in outputs:
        text = output.get("data", {}).get(RESULT_MIME) if output.get("output_type") == "display_data" else None
        if isinstance(text, list):
            text = "".join(text)
        if isinstance(text, str) and text.startswith(marker):
            found.append(text[len(marker):])
    if not found:
        return None, "the grading step gave no result"
    if len(found) > 1:
        return None, f"the kernel sent {len(found)} grading results instead of one (made up by the notebook)"
    try:
        result = json.loads(found[0])
    except ValueError:
        return None, "the grading step's result is not readable"
    return (result, "") if isinstance(result, dict) else (None, "the grading step's result is not readable")


def run_submission(path: Path, spec: LessonSpec, answers: dict, module_roots: list[str],
                   checks_module: str, cell_timeout: float, timeout: float, check_timeout: float,
                   fast: bool, executed: Path | None,
                   isolation: Isolation | None = None,
                   checks_file: str | None = None) -> tuple[Run, tuple[dict[str, set[str]], str]]:
    """Execute a copy of ``path`` in a temporary folder; the run, and what its progress file claims."""
    isolation = isolation or Isolation()
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        tmp = Path(tmp)
        work, sockets = tmp / "work", tmp / "sockets"
        work.mkdir()
        sockets.mkdir(mode=0o700)
        shutil.copyfile(path, work / "submission.ipynb")
        nb = nbformat.read(str(work / "submission.ipynb"), as_version=4)
        nonce = secrets.token_hex(8)
        marker = f"course-grading-result-{nonce}:"
        params = {
            "module_roots": module_roots,
            "checks_module": checks_module,
            "checks_file": checks_file,
            "progress_file": str(work / f".official-{nonce}.json"),
            "snapshot_key": f"_course_grading_{nonce}",
            "result_mime": RESULT_MIME,
            "result_marker": marker,
            "library_dir": str(LIBRARY_DIR),
            "check_timeout": check_timeout,
            "checks": spec.checks,
            "quiz_exprs": [(qid, src) for qid, (kind, src) in answers.items() if kind == "expr"],
        }
        run_progress = work / ".course-progress.json"
        env = kernel_environment(work, fast, run_progress, isolation.threads)
        km = this_python_kernel(
            kernel_argv=lambda argv: kernel_argv(argv, sandboxed=isolation.sandboxed, limits=isolation.limits,
                                                 work=work, sockets=sockets, hidden=list(isolation.hidden),
                                                 hidden_files=list(isolation.hidden_files),
                                                 env=env),
            transport="ipc", ip=str(sockets / "kernel"), connection_file=str(sockets / "kernel.json"))
        n_items = len(spec.checks) + len(params["quiz_exprs"])
        prologue = kernel_cell("prologue", {
            "snapshot_key": params["snapshot_key"], "module_roots": module_roots,
            "modules": [checks_module, "course_lib.quiz", "course_lib.progress"]})
        run = execute_notebook(nb, work, km, env, cell_timeout=cell_timeout, timeout=timeout,
                               prologue=prologue, epilogue=kernel_cell("epilogue", params),
                               epilogue_timeout=check_timeout * max(1, n_items) + 60)
        if not run.fatal:
            run.result, problem = read_result(run.grading_output, marker)
            run.fatal = problem
        claims = progress_claims(run_progress, spec.lesson)
        if executed is not None:
            executed.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(executed))
    return run, claims
