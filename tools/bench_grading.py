"""Benchmark of the grader at class scale: N copies of a correct submission, graded with
``--jobs 1`` and then ``--jobs 2`` (or the ``--jobs`` given); prints seconds per submission and
the peak memory of the grader and everything it started (resident memory sampled from /proc
every half second), and checks that every copy got full marks.

    .venv/bin/python tools/bench_grading.py                 # 40 copies of lesson 01, jobs 1 and 2
    .venv/bin/python tools/bench_grading.py --copies 10 --lesson 02 --jobs 2 4
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from course_lib import exercises

REPO = Path(__file__).resolve().parent.parent


def solved_copy(lesson: str) -> nbformat.NotebookNode:
    """The lesson's exercise notebook as a learner hands it in with every blank filled in."""
    exercise = next((REPO / "exercises").glob(f"{lesson}_*.ipynb"))
    return exercises.filled_in(nbformat.read(str(exercise), as_version=4),
                               nbformat.read(str(REPO / "solutions" / exercise.name), as_version=4))


def tree_rss(root: int) -> int:
    """Resident memory (bytes) of ``root`` and every process below it."""
    parents: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        pid = int(entry.name)
        parents.setdefault(int(status.get("PPid", "0")), []).append(pid)
        rss[pid] = int(status.get("VmRSS", "0 kB").split()[0]) * 1024
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += parents.get(pid, [])
    return total


def run(files: list[Path], jobs: int, out: Path) -> tuple[float, int, list[dict], list[int]]:
    proc = subprocess.Popen([sys.executable, "-m", "course_lib.grade", *map(str, files), "--out", str(out),
                             "--jobs", str(jobs), "--regrade"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak, samples = 0, []
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            value = tree_rss(proc.pid)
            samples.append(value)
            peak = max(peak, value)
            stop.wait(0.5)

    start = time.perf_counter()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    proc.wait()
    elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return elapsed, peak, rows, samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--lesson", default="01")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        nb = solved_copy(args.lesson)
        name = next((REPO / "exercises").glob(f"{args.lesson}_*.ipynb")).name
        files = []
        for i in range(args.copies):
            (tmp / "subs" / f"s{i:03d}").mkdir(parents=True)
            nb.metadata["bench_copy"] = i  # distinct content: nothing is taken from a previous run
            path = tmp / "subs" / f"s{i:03d}" / name
            nbformat.write(nb, str(path))
            files.append(path)
        print(f"{args.copies} copies of a correct lesson {args.lesson} submission")
        for jobs in args.jobs:
            elapsed, peak, rows, samples = run(files, jobs, tmp / f"book-{jobs}.csv")
            full = sum(r["score"] == "100.0" for r in rows)
            quarter = max(1, len(samples) // 4)
            first, last = max(samples[:quarter]), max(samples[-quarter:])
            print(f"--jobs {jobs}: {elapsed:.0f} s in all, {elapsed / args.copies:.1f} s per submission, "
                  f"peak memory {peak / 2**30:.2f} GB (peak of the first quarter {first / 2**30:.2f} GB, "
                  f"of the last {last / 2**30:.2f} GB), {full}/{len(rows)} at 100%", flush=True)
            for row in [r for r in rows if r["score"] != "100.0"][:3]:
                print(f"    not full: {row['file']}: {row['status']} {row['score']}: {row['notes'][:400]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
