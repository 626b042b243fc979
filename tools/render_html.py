"""Run the lessons and render them, outputs included, as a static HTML course.

Usage (from the repository root; ``make html`` runs the first form)::

    python tools/render_html.py --out build/html              # every notebooks/NN_*.ipynb, full mode
    python tools/render_html.py notebooks/00_setup.ipynb      # only these
    python tools/render_html.py --fast                        # fast mode (quick preview)

Each lesson is executed top to bottom in a fresh kernel from its own folder, in full mode unless
``--fast`` is given, with strict checks and a private progress file (the reader's own progress
is not touched). The executed notebook is written as ``OUT/NN_<name>.html`` with its plots,
tables and printed figures; ``OUT/index.html`` links every lesson and says how long each took
on which device. A lesson that fails is still rendered (showing the error) and makes the
command exit with status 1. Quiz forms appear as static widgets (they need a kernel to check
answers).
"""
from __future__ import annotations

import argparse
import html
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbclient.util import run_sync

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course_lib import config  # noqa: E402
from course_lib.grade import this_python_kernel  # noqa: E402  (a kernel of this interpreter)


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def execute(path: Path, timeout: int, fast: bool, progress_file: Path) -> tuple[nbformat.NotebookNode, float, str]:
    """Run one notebook; return it with outputs, the seconds it took and an error ('' if none)."""
    nb = nbformat.read(str(path), as_version=4)
    # The kernel gets its own environment; this process's is left alone.
    env = dict(os.environ)
    env.update({config.STRICT_CHECKS: "1", config.PROGRESS_FILE: str(progress_file)})
    if fast:
        env[config.FAST] = "1"
    else:
        env.pop(config.FAST, None)
    km = this_python_kernel()
    start = time.perf_counter()
    error = ""
    try:
        NotebookClient(nb, km=km, timeout=timeout,
                       resources={"metadata": {"path": str(path.parent)}}).execute(env=env)
    except CellExecutionError as err:
        error = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
    except Exception as err:  # timeouts, a dead kernel
        error = f"{type(err).__name__}: {err}".splitlines()[0]
    finally:  # nbclient leaves a kernel it did not start itself running: stop it
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    return nb, time.perf_counter() - start, error


def to_html(nb: nbformat.NotebookNode, title: str) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def device_line() -> str:
    try:
        from course_lib.device import describe_device

        return describe_device()
    except Exception as err:  # the index must still be written
        return f"unknown device ({type(err).__name__})"


def index_page(entries: list[dict], mode: str) -> str:
    rows = []
    for e in entries:
        status = "" if not e["error"] else f' <span class="err">failed: {html.escape(e["error"])}</span>'
        rows.append(f'<li><a href="{html.escape(e["file"])}">{html.escape(e["title"])}</a>'
                    f' <span class="time">{e["seconds"]:.0f} s</span>{status}</li>')
    total = sum(e["seconds"] for e in entries)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Sparse Autoencoders, hands-on: the lessons with their results</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 3rem auto; padding: 0 1rem;
       line-height: 1.5; color: #222; }}
li {{ margin: .4rem 0; }} .time {{ color: #777; font-size: .9em; }} .err {{ color: #b00; }}
footer {{ color: #777; font-size: .9em; margin-top: 2rem; }}
</style></head><body>
<h1>Sparse Autoencoders, hands-on</h1>
<p>Every lesson, run from top to bottom, with the plots, tables and figures it produced, so you
can read the expected results without running anything. To run and change the code, open the
notebooks in JupyterLab, Colab or Binder (see the README).</p>
<ol>
{chr(10).join(rows)}
</ol>
<footer>Rendered {time.strftime("%Y-%m-%d %H:%M")} in {mode} mode on {html.escape(device_line())};
{total:.0f} s in all.</footer>
</body></html>
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/render_html.py", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="lessons to render (default: notebooks/NN_*.ipynb)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "html", help="output folder (build/html)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds one cell may run (1200)")
    parser.add_argument("--fast", action="store_true", help="fast mode: smaller runs, for a quick preview")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    args.out.mkdir(parents=True, exist_ok=True)
    mode = "fast" if args.fast else "full"
    entries = []
    with tempfile.TemporaryDirectory(prefix="course-html-") as tmp:
        for path in paths:
            print(f"running {path.name} ({mode} mode) ...", flush=True)
            nb, seconds, error = execute(path, args.timeout, args.fast, Path(tmp) / "progress.json")
            title = title_of(nb, path.stem)
            target = args.out / f"{path.stem}.html"
            target.write_text(to_html(nb, title), encoding="utf-8")
            print(f"  {seconds:.0f} s -> {target}" + (f"  FAILED: {error}" if error else ""), flush=True)
            entries.append({"file": target.name, "title": title, "seconds": seconds, "error": error})
    (args.out / "index.html").write_text(index_page(entries, mode), encoding="utf-8")
    print(f"index: {args.out / 'index.html'}")
    failed = [e["file"] for e in entries if e["error"]]
    if failed:
        print(f"{len(failed)} lesson(s) failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
