"""Build the course as a static website: every lesson executed, with its figures, in build/site/.

Usage (from the repository root; ``make site`` runs the first form)::

    python tools/build_site.py                  # full mode (COURSE_FAST unset): the published site
    COURSE_FAST=1 python tools/build_site.py    # fast mode: a quick preview, what CI tests
    python tools/build_site.py --out DIR        # somewhere else than build/site/

The site is made by Sphinx with MyST-NB and the Sphinx Book Theme (``site/conf.py``). This
script lays out its sources in ``build/site-src/<mode>/`` and runs Sphinx on them:

* ``index.md``: the landing page, ``site/index.md`` with the lesson table and the table of
  contents filled in from the course manifest (``course_lib.course.LESSONS``) and the run times
  of README.md's "Expected run times";
* ``notebooks/NN_<name>.ipynb``: a copy of each lesson notebook, its Colab badge replaced by
  links to open the lesson and its exercises in Colab or Binder or to download them, and its
  Colab set-up cell left out of the page (it still runs; it does nothing outside Colab);
* ``_files/``: the notebooks offered for download, as they are in the repository (no outputs).

Each lesson is executed top to bottom by MyST-NB through jupyter-cache, in the mode asked for,
with strict checks and a private progress file. Executions are cached in
``build/site-cache/<mode>/``: a rebuild re-executes only the notebooks whose code changed (an
edit of the prose re-renders without retraining), and a fast build never reuses a full one's
outputs. The cache is emptied when ``course_lib`` changes, since the outputs depend on it. A
lesson whose cell raises makes the build fail.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import colab  # noqa: E402  (the repository URL, Colab and Binder links)

from course_lib import config  # noqa: E402
from course_lib.course import LESSONS  # noqa: E402

SITE = ROOT / "site"  # conf.py, the landing page's text, style sheet
BUILD = ROOT / "build"
LESSONS_MARKER = "<!-- LESSONS -->"
RUN_TIMES_HEADING = "### Expected run times"
FILES = "_files"  # notebooks offered for download, under the Sphinx source folder
SETUP_TAG = "remove-cell"  # MyST-NB: run the cell, show nothing of it


# ---------------------------------------------------------------- what the site shows


def lessons(root: Path = ROOT) -> list[dict]:
    """The lessons to publish, in course order: ``{"number", "stem", "title"}`` each.

    Every lesson of ``LESSONS`` whose notebook exists, then any ``notebooks/NN_*.ipynb`` the
    manifest does not list yet (titled by its first heading), so a new lesson is never left out.
    """
    found = {p.name: p for p in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
    out = []
    for item in LESSONS:
        if item.notebook in found:
            out.append({"number": item.number, "stem": Path(item.notebook).stem, "title": item.title})
            del found[item.notebook]
    for name, path in found.items():
        title = _heading(nbformat.read(str(path), as_version=4)) or name
        out.append({"number": name[:2], "stem": path.stem, "title": re.sub(r"^\d\d\s*·\s*", "", title)})
    return sorted(out, key=lambda lesson: lesson["number"])


def _heading(nb) -> str | None:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


def run_times(readme: str) -> dict[str, dict[str, int]]:
    """Seconds per lesson in full mode, ``{"cpu": {"00": 7, ...}, "gpu": {...}}``, read from the
    bullets of README.md's "Expected run times" that list ``NN [name] SECONDS s`` entries; a
    bullet naming a GPU before its first entry gives GPU times, any other CPU times."""
    section = readme.split(RUN_TIMES_HEADING, 1)[1] if RUN_TIMES_HEADING in readme else ""
    section = re.split(r"^#{1,3} ", section, maxsplit=1, flags=re.M)[0]
    times: dict[str, dict[str, int]] = {"cpu": {}, "gpu": {}}
    for bullet in re.split(r"^- ", section, flags=re.M)[1:]:
        bullet = " ".join(bullet.split())
        entries = list(re.finditer(r"\b(\d\d)(?: [a-z]+)? (\d+) s\b", bullet))
        if not entries:
            continue
        kind = "gpu" if "GPU" in bullet[:entries[0].start()] else "cpu"
        for match in entries:
            times[kind].setdefault(match.group(1), int(match.group(2)))
    return times


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "not measured yet"
    return f"{seconds} s" if seconds < 90 else f"{seconds / 60:.1f} min".replace(".0 min", " min")


def launch_links(stem: str, root: Path = ROOT) -> str:
    """The MyST block under a lesson's title: open, launch or download the lesson and its
    exercises; the solutions are linked, never shown on the page."""
    repo = colab.repository_url(root)
    lines = [":::{admonition} Run this lesson yourself", ":class: tip launch-links", ""]

    def row(label: str, rel: str) -> str:
        return (f"- **{label}:** [Open in Colab]({colab.colab_url(rel, repo)}) · "
                f"[Launch on Binder]({colab.binder_url(repo, path=rel)}) · "
                f"{{download}}`Download notebook <../{FILES}/{rel}>`")

    lines.append(row("Lesson", f"notebooks/{stem}.ipynb"))
    if (root / "exercises" / f"{stem}.ipynb").exists():
        lines.append(row("Exercises", f"exercises/{stem}.ipynb"))
    if (root / "solutions" / f"{stem}.ipynb").exists():
        lines.append(f"- **Worked solutions** (try the exercises first): "
                     f"[view on GitHub]({repo}/blob/{colab.BRANCH}/solutions/{stem}.ipynb) · "
                     f"{{download}}`Download notebook <../{FILES}/solutions/{stem}.ipynb>`")
    lines += ["", "Running it locally: `make lab` in a checkout of the repository "
              "([how to run the course](../index.md#run-the-course)).", ":::"]
    return "\n".join(lines)


def site_notebook(path: Path, root: Path = ROOT) -> nbformat.NotebookNode:
    """The lesson as the site shows it: the badge line replaced by launch links, the Colab
    set-up cell hidden. Code cells are untouched, so the execution cache still matches."""
    nb = nbformat.read(str(path), as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = "\n".join(line for line in cell.source.split("\n") if colab.BADGE_IMAGE not in line).rstrip()
            links = new_markdown_cell(launch_links(path.stem, root))
            links.id = "site-launch-links"
            nb.cells.insert(index + 1, links)
            break
    for cell in nb.cells:
        if cell.cell_type == "code" and colab.is_setup_cell(cell):
            tags = cell.metadata.setdefault("tags", [])
            if SETUP_TAG not in tags:
                tags.append(SETUP_TAG)
    return nb


def landing_page(items: list[dict], times: dict[str, dict[str, int]], template: str, root: Path = ROOT) -> str:
    """``site/index.md`` with the lesson table at its marker, the repository's URL and name, and
    the (hidden) table of contents."""
    rows = ["| Lesson | Full run on a 2-core CPU | Full run on a GPU | Exercises |",
            "| --- | --- | --- | --- |"]
    for item in items:
        exercises = "yes" if (root / "exercises" / f"{item['stem']}.ipynb").exists() else "—"
        rows.append(f"| [{item['number']} · {item['title']}](notebooks/{item['stem']}.ipynb) | "
                    f"{_duration(times['cpu'].get(item['number']))} | "
                    f"{_duration(times['gpu'].get(item['number']))} | {exercises} |")
    cpu_total = sum(times["cpu"].get(item["number"], 0) for item in items)
    rows += ["", f"All lessons together: about {round(cpu_total / 60)} minutes on a 2-core CPU in full mode "
             "(the lesson pages show the results of such a run)."]
    if LESSONS_MARKER not in template:
        raise SystemExit(f"site/index.md lacks the marker {LESSONS_MARKER!r} where the lesson table goes")
    toc = ["", "```{toctree}", ":hidden:", ":caption: Lessons", ""]
    toc += [f"notebooks/{item['stem']}" for item in items] + ["```", ""]
    repo = colab.repository_url(root)
    text = template.replace(LESSONS_MARKER, "\n".join(rows))
    text = text.replace("REPOSITORY_URL", repo).replace("REPOSITORY_NAME", repo.rsplit("/", 1)[-1])
    return text + "\n".join(toc)


# ---------------------------------------------------------------- the build


def _write_if_changed(path: Path, text: str) -> None:
    """Keep a file's time stamp when its content is the same (Sphinx then skips it)."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def prepare(src: Path, root: Path = ROOT) -> list[dict]:
    """Lay out the Sphinx sources in ``src``; return the lessons published."""
    items = lessons(root)
    keep = {src / "index.md"}
    readme = (root / "README.md").read_text(encoding="utf-8")
    _write_if_changed(src / "index.md",
                      landing_page(items, run_times(readme), (SITE / "index.md").read_text(encoding="utf-8"), root))
    for item in items:
        name = f"{item['stem']}.ipynb"
        target = src / "notebooks" / name
        _write_if_changed(target, nbformat.writes(site_notebook(root / "notebooks" / name, root)) + "\n")
        keep.add(target)
        for folder in ("notebooks", "exercises", "solutions"):
            original = root / folder / name
            if original.exists():
                copy = src / FILES / folder / name
                _write_if_changed(copy, original.read_text(encoding="utf-8"))
                keep.add(copy)
    for stale in [p for p in src.rglob("*") if p.is_file() and p not in keep]:
        stale.unlink()  # a renamed or removed lesson leaves no page behind
    return items


def library_hash(root: Path = ROOT) -> str:
    """A digest of course_lib's code and question bank: the executions' other input."""
    digest = hashlib.sha256()
    for path in sorted((root / "course_lib").rglob("*")):
        if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cache_folder(mode: str, root: Path = ROOT) -> Path:
    """``build/site-cache/<mode>/``, emptied first when course_lib changed since it was filled."""
    folder = root / "build" / "site-cache" / mode
    stamp = folder / "course_lib.sha256"
    current = library_hash(root)
    if folder.exists() and (not stamp.exists() or stamp.read_text().strip() != current):
        print(f"course_lib changed since the last {mode}-mode build: executing every lesson again")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current + "\n")
    return folder


def build(out: Path, src: Path, fast: bool) -> int:
    from sphinx.application import Sphinx

    mode = "fast" if fast else "full"
    cache = cache_folder(mode)
    items = prepare(src)
    print(f"building the site in {mode} mode: {len(items)} lessons -> {out} (executions cached in {cache})", flush=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="course-site-") as tmp:
        # The lesson kernels inherit this environment (the reader's own progress is not touched).
        os.environ.update({config.STRICT_CHECKS: "1", config.PROGRESS_FILE: str(Path(tmp) / "progress.json"),
                           "TQDM_DISABLE": "1"})  # a progress bar is a live widget: nothing to read on a page
        if fast:
            os.environ[config.FAST] = "1"
        app = Sphinx(str(src), str(SITE), str(out), str(BUILD / "site-doctrees" / mode), "html",
                     confoverrides={"nb_execution_cache_path": str(cache)}, freshenv=True,
                     warningiserror=False, keep_going=True)
        app.build()
    seconds = time.perf_counter() - start
    summary = {"mode": mode, "seconds": round(seconds, 1), "lessons": [i["stem"] for i in items],
               "status": app.statuscode}
    (out / "build.json").write_text(json.dumps(summary, indent=1) + "\n")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"site: {out / 'index.html'} ({size / 2**20:.1f} MiB, {seconds:.0f} s, {mode} mode)")
    return app.statuscode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/build_site.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BUILD / "site", help="output folder (build/site)")
    parser.add_argument("--src", type=Path, help="where the sources are laid out (build/site-src/<mode>)")
    args = parser.parse_args(argv)
    fast = config.fast()
    src = args.src or BUILD / "site-src" / ("fast" if fast else "full")
    return build(args.out.resolve(), src.resolve(), fast=fast)


if __name__ == "__main__":
    sys.exit(main())
