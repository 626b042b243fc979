"""Hostile submissions: each gets a correct row and damages nothing outside its sandbox.

Built from the real lesson 01 exercise notebook (solved as a learner would), with hostile cells
inserted, and graded together with a correct submission in one run of the command line tool
(``--jobs 2``). Afterwards: the course checkout, a canary folder, the other submission, a file
the gradebook was pointed at and the gradebook itself are unchanged, nothing reached a TCP
listener, and no process any submission started is left. Several attacks share one notebook
where they do not interfere (each in its own ``try``, its outcome printed).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from helpers import processes_with
from nbformat.v4 import new_code_cell

from course_lib import exercises
from course_lib.grade import sandbox

REPO = Path(__file__).resolve().parent.parent
EXERCISE = REPO / "exercises" / "01_overcomplete_autoencoders.ipynb"

pytestmark = pytest.mark.skipif(sandbox.probe()[0] is None or not Path("/proc/self").exists(),
                                reason=f"no bubblewrap sandbox here: {sandbox.probe()[1]}")


def solved() -> nbformat.NotebookNode:
    """The exercise notebook with every blank filled in from the solution."""
    return exercises.filled_in(nbformat.read(str(EXERCISE), as_version=4),
                               nbformat.read(str(REPO / "solutions" / EXERCISE.name), as_version=4))


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


TRY = '''
outcome = {{}}
def attempt(name, action):
    try:
        action()
        outcome[name] = "done"
    except BaseException as err:
        outcome[name] = f"refused: {{type(err).__name__}}"
'''

DISK_AND_NETWORK = TRY + '''
import os, socket, subprocess, sys
import course_lib.checks.core as core_module
attempt("patch course_lib on disk", lambda: open(core_module.__file__, "a").write("\\n# every check passes\\n"))
attempt("add a module to course_lib", lambda: open(os.path.join(os.path.dirname(core_module.__file__), "evil.py"), "w").write("x = 1"))
attempt("read another submission", lambda: open({victim!r}).read(100))
attempt("delete another submission", lambda: os.remove({victim!r}))
attempt("write the canary", lambda: open({canary!r}, "w").write("gone"))
def link_out():
    if os.path.lexists({out!r}):
        os.remove({out!r})
    os.symlink({target!r}, {out!r})
attempt("symlink the gradebook", link_out)
def exfiltrate():
    with socket.create_connection(("127.0.0.1", {port}), timeout=3) as s:
        s.sendall(repr(sorted(os.environ)).encode() + repr(os.listdir({subs!r})).encode())
attempt("send to a local socket", exfiltrate)
rewrite = f"import time, os; time.sleep(3); open({out!r}, 'w').write('rewritten'); open({canary!r}, 'w').write('x')"
attempt("detached process rewriting the gradebook later",
        lambda: subprocess.Popen([sys.executable, "-c", rewrite, {marker!r}], start_new_session=True))
attempt("child process left alive", lambda: subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", {marker!r}]))
print(outcome)
'''

ALLOCATE = "big = bytearray(6 * 2**30)  # 6 GB"

KILL_AND_FORGE = TRY + '''
import glob, json, os, re, signal, threading, time
attempt("kill the grader", lambda: os.kill(os.getppid(), signal.SIGKILL))
fake = {{"checks": {{name: {{"passed": True, "status": "pass", "message": ""}} for name in
        ("reconstruction_error", "fraction_variance_unexplained", "l0", "dead_fraction", "tiny_autoencoder", "train_step")}},
        "quiz": {{}}, "tampering": [], "errors": []}}
def forge():
    from IPython import get_ipython
    from IPython.display import display
    shown = False
    while True:
        for pattern in ("/tmp/**/*.json", os.getcwd() + "/**/*.json", os.getcwd() + "/.*.json"):
            for path in glob.glob(pattern, recursive=True):
                try:
                    with open(path, "w") as f:
                        json.dump(fake, f)
                except OSError:
                    pass
        source = (get_ipython().user_ns.get("In") or [""])[-1]
        found = re.search(r"course-grading-result-[0-9a-f]+:", source)
        if found and not shown:
            display({{"application/x-course-grading": found.group(0) + json.dumps(fake)}}, raw=True)
            shown = True
        time.sleep(0.01)
threading.Thread(target=forge, daemon=True).start()
print(outcome)
'''

REFERENCE_COPY = '''
import os, shutil, sys
import course_lib
shutil.copytree(os.path.dirname(course_lib.__file__), os.path.join(os.getcwd(), "mycopy"))
sys.path.insert(0, os.getcwd())
import mycopy.metrics
l0 = mycopy.metrics.l0  # the course's own l0, from a copy of course_lib at another path
'''


def hostile(cells: list[str], blank: bool = False) -> nbformat.NotebookNode:
    nb = nbformat.read(str(EXERCISE), as_version=4) if blank else solved()
    nb.cells += [new_code_cell(source) for source in cells]  # after the last cell: before grading
    return nb


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    subs, canary, book, executed = root / "subs", root / "canary", root / "book", root / "executed"
    for folder in (subs, canary, book):
        folder.mkdir()
    (canary / "notes.txt").write_text("instructor's notes")
    target = root / "target.txt"
    target.write_text("a file the gradebook must not overwrite")
    out = book / "book.csv"
    victim = subs / "01_victim.ipynb"
    nbformat.write(solved(), str(victim))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    received: list[bytes] = []
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                received.append(conn.recv(65536))

    threading.Thread(target=listen, daemon=True).start()
    marker = f"course-hostile-{os.getpid()}"
    fill = dict(victim=str(victim), canary=str(canary / "notes.txt"), out=str(out), target=str(target),
                port=listener.getsockname()[1], subs=str(subs), marker=marker)
    files = {
        "01_disk_network_memory.ipynb": hostile([DISK_AND_NETWORK.format(**fill), ALLOCATE]),
        "01_kill_and_forge.ipynb": hostile([KILL_AND_FORGE.format()], blank=True),
        "01_reference_copy.ipynb": hostile([REFERENCE_COPY]),
    }
    for name, nb in files.items():
        nbformat.write(nb, str(subs / name))
    before = {"course_lib": tree_digest(REPO / "course_lib"), "canary": tree_digest(canary),
              "victim": victim.read_bytes(), "target": target.read_bytes(),
              "git": subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "course_lib.grade", str(subs), "--out", str(out), "--jobs", "2",
                           "--executed", str(executed), "--cell-timeout", "120"],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    took = time.monotonic() - start
    book_after_exit = out.read_bytes() if out.exists() else b""
    time.sleep(5)  # the detached process would rewrite the gradebook 3 s after its start
    stop.set()
    after = {"course_lib": tree_digest(REPO / "course_lib"), "canary": tree_digest(canary),
             "victim": victim.read_bytes(), "target": target.read_bytes(),
             "git": subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout}
    outcomes = {}
    for name in files:
        nb = nbformat.read(str(executed / name), as_version=4) if (executed / name).exists() else None
        texts = [o.get("text", "") for c in (nb.cells if nb else []) for o in c.get("outputs", [])
                 if o.get("output_type") == "stream"]
        outcomes[name] = [t for t in texts if t.startswith("{")]
    with open(out, newline="", encoding="utf-8") as f:
        rows = {Path(r["file"]).name: r for r in csv.DictReader(f)}
    print(f"graded in {took:.0f} s", json.dumps({n: (r["status"], r["score"], r["notes"][:600]) for n, r in rows.items()},
                                                indent=1), outcomes, proc.stderr[-2000:])
    return dict(proc=proc, rows=rows, before=before, after=after, received=received, marker=marker, out=out,
                book_after_exit=book_after_exit, outcomes=outcomes)


def test_the_correct_submission_is_graded_and_untouched(attacked):
    assert attacked["proc"].returncode == 0, attacked["proc"].stderr[-3000:]
    row = attacked["rows"]["01_victim.ipynb"]
    assert (row["status"], row["score"], row["isolation"]) == ("ok", "100.0", "sandbox"), row["notes"]
    assert attacked["after"]["victim"] == attacked["before"]["victim"]


def test_nothing_outside_the_sandbox_changed(attacked):
    before, after = attacked["before"], attacked["after"]
    assert after["course_lib"] == before["course_lib"]
    assert after["git"] == before["git"]
    assert after["canary"] == before["canary"]
    assert after["target"] == before["target"]
    assert not attacked["out"].is_symlink()
    assert attacked["out"].read_bytes() == attacked["book_after_exit"]  # not rewritten after the grader exited
    assert attacked["received"] == []
    assert processes_with(attacked["marker"]) == []


def test_disk_network_and_memory_attacks_fail_and_the_row_is_right(attacked):
    row = attacked["rows"]["01_disk_network_memory.ipynb"]
    assert (row["status"], row["score"]) == ("errors", "100.0"), row["notes"]
    assert "raised MemoryError" in row["notes"]
    outcome = attacked["outcomes"]["01_disk_network_memory.ipynb"][0]
    assert "'patch course_lib on disk': 'refused: OSError'" in outcome
    assert "'read another submission': 'refused: FileNotFoundError'" in outcome
    assert "'send to a local socket': 'refused" in outcome


def test_killing_the_grader_and_forging_the_result_do_not_help(attacked):
    row = attacked["rows"]["01_kill_and_forge.ipynb"]
    # a blank exercise: either graded 0, or not graded because a second result was made up
    assert row["score"] in ("0.0", ""), row["notes"]
    if row["status"] == "not graded":
        assert "grading results instead of one" in row["notes"]


def test_the_reference_from_a_copy_of_the_library_is_flagged(attacked):
    row = attacked["rows"]["01_reference_copy.ipynb"]
    assert row["status"] == "tampering" and row["l0"] == "0", row["notes"]
    assert "l0 is the course's reference implementation" in row["notes"]
    assert row["reconstruction_error"] == "1"
