"""Colab and Binder: set-up cells, badges, the README's badge table, environment.yml.

``tools/colab.py`` manages the set-up cell and badges; these tests fail when a notebook lacks
them or carries a stale copy (fix: ``make notebooks-setup``), when a badge opens a notebook that
does not exist, when the set-up cell does anything outside Colab, and when environment.yml and
pyproject.toml disagree on the dependencies.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.util import run_sync
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_lib import exercises, grade

ROOT = Path(__file__).resolve().parents[1]


def _load_tool():
    spec = importlib.util.spec_from_file_location("course_colab_tool", ROOT / "tools" / "colab.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


colab = _load_tool()
REPO_URL = colab.repository_url(ROOT)
NOTEBOOKS = colab.notebooks(ROOT)
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/([^/]+)/([^)\s]+\.ipynb)")
BINDER_LINK = re.compile(r"https://mybinder\.org/v2/gh/([^/]+/[^/]+)/([^?]+)\?urlpath=lab/tree/([^)\s]+)")


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# ---------------------------------------------------------------- the repository's notebooks


def test_the_repository_url_comes_from_pyproject():
    assert REPO_URL == colab._pyproject(ROOT)["project"]["urls"]["Repository"].rstrip("/")
    assert colab.github_slug(REPO_URL).count("/") == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=rel)
def test_notebook_has_the_current_setup_cell_and_badge(path):
    nb = nbformat.read(str(path), as_version=4)
    setup = [i for i, c in enumerate(nb.cells) if colab.is_setup_cell(c)]
    first_md = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown")
    assert setup == [first_md + 1], f"{rel(path)}: no managed set-up cell after the title; run `make notebooks-setup`"
    assert not [c for c in nb.cells[:first_md + 1] if c.cell_type == "code"], "the set-up cell is the first code cell"
    assert colab.badge_line(rel(path), REPO_URL) in nb.cells[first_md].source.split("\n")
    fresh = colab.apply(nb, rel(path), REPO_URL)
    assert colab._dump(fresh) == colab._dump(nb), f"{rel(path)}: stale set-up cell or badge; run `make notebooks-setup`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=rel)
def test_notebook_badge_opens_a_notebook_that_exists(path):
    nb = nbformat.read(str(path), as_version=4)
    links = COLAB_LINK.findall("\n".join(c.source for c in nb.cells if c.cell_type == "markdown"))
    assert links, f"{rel(path)} has no Colab badge"
    for slug, branch, target in links:
        assert slug == colab.github_slug(REPO_URL) and branch == colab.BRANCH
        assert (ROOT / target).is_file(), f"{rel(path)}: its badge opens {target}, which does not exist"


def test_readme_badge_block_is_current():
    assert not colab.update_readme(ROOT, write=False), "README.md badge block is stale; run `make notebooks-setup`"


def test_readme_badges_open_notebooks_that_exist_and_cover_every_lesson_and_exercise():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = set()
    for slug, branch, target in COLAB_LINK.findall(text):
        assert (slug, branch) == (colab.github_slug(REPO_URL), colab.BRANCH)
        assert (ROOT / target).is_file(), f"README badge opens {target}, which does not exist"
        targets.add(target)
    wanted = {rel(p) for folder in ("notebooks", "exercises") for p in (ROOT / folder).glob(colab.PATTERN)}
    assert wanted - targets == set(), f"no README badge for {sorted(wanted - targets)}"
    binder = BINDER_LINK.findall(text)
    assert binder, "README has no Binder badge"
    for slug, branch, target in binder:
        assert (slug, branch) == (colab.github_slug(REPO_URL), colab.BRANCH)
        assert (ROOT / target).is_file() and target == "notebooks/00_setup.ipynb"


# ---------------------------------------------------------------- the tool on a scratch repository


@pytest.fixture
def scratch(tmp_path):
    """A tiny repository: pyproject, README with the markers, a lesson and its solution."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "README.md").write_text(f"# Course\n\n{colab.README_BEGIN}\nold\n{colab.README_END}\n\nEnd.\n")
    for folder in ("notebooks", "solutions"):
        (tmp_path / folder).mkdir()
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    lesson = new_notebook(cells=[new_markdown_cell("# 01 · Toy\n\nSome text."), new_code_cell("x = 1")], metadata=meta)
    solution = new_notebook(cells=[new_markdown_cell("# 01 · Toy exercises"),
                                   new_code_cell("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION")],
                            metadata=meta)
    nbformat.write(lesson, str(tmp_path / "notebooks" / "01_toy.ipynb"))
    nbformat.write(solution, str(tmp_path / "solutions" / "01_toy.ipynb"))
    return tmp_path


def snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_tool_inserts_then_changes_nothing_the_second_time(scratch, capsys):
    assert colab.main(["--root", str(scratch), "--check"]) == 1
    assert colab.main(["--root", str(scratch)]) == 0
    lesson = nbformat.read(str(scratch / "notebooks" / "01_toy.ipynb"), as_version=4)
    assert [c.cell_type for c in lesson.cells] == ["markdown", "code", "code"]
    assert lesson.cells[0].source.split("\n") == ["# 01 · Toy", "", colab.badge_line("notebooks/01_toy.ipynb", REPO_URL),
                                                  "", "Some text."]
    assert lesson.cells[1].source == colab.setup_source(REPO_URL) and lesson.cells[1].id == "course-setup"
    assert lesson.cells[1].metadata == {"cellView": "form", "jupyter": {"source_hidden": True}}
    before = snapshot(scratch)
    assert colab.main(["--root", str(scratch)]) == 0
    assert snapshot(scratch) == before
    assert colab.main(["--root", str(scratch), "--check"]) == 0
    assert "01_toy" in (scratch / "README.md").read_text() and "End." in (scratch / "README.md").read_text()


def test_tool_replaces_a_stale_cell_and_badge_and_moves_the_cell_up(scratch):
    colab.main(["--root", str(scratch)])
    path = scratch / "notebooks" / "01_toy.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    setup = nb.cells.pop(1)
    setup.source = setup.source.replace("@main", "@old-branch")
    nb.cells.append(setup)  # stale and in the wrong place
    nb.cells[0].source = nb.cells[0].source.replace("/blob/main/", "/blob/old/")
    nbformat.write(nb, str(path))
    assert colab.main(["--root", str(scratch), "--check"]) == 1
    colab.main(["--root", str(scratch)])
    fixed = nbformat.read(str(path), as_version=4)
    assert [c.source for c in fixed.cells][1:] == [colab.setup_source(REPO_URL), "x = 1"]
    assert fixed.cells[0].source.count("colab-badge.svg") == 1 and "/blob/main/" in fixed.cells[0].source


def test_the_exercise_generator_keeps_the_cell_and_its_badge_opens_the_exercise(scratch):
    colab.main(["--root", str(scratch)])
    assert exercises.main(["--root", str(scratch)]) == 0
    exercise = nbformat.read(str(scratch / "exercises" / "01_toy.ipynb"), as_version=4)
    assert colab.is_setup_cell(exercise.cells[1])
    assert "/blob/main/exercises/01_toy.ipynb" in exercise.cells[0].source
    assert colab.main(["--root", str(scratch), "--check"]) == 1  # README now lacks the exercise badge
    colab.main(["--root", str(scratch)])
    assert colab.main(["--root", str(scratch), "--check"]) == 0
    assert exercises.check(scratch / "solutions", scratch / "exercises") == []  # still in sync
    assert "exercises/01_toy.ipynb" in (scratch / "README.md").read_text()


def test_a_stale_exercise_touched_by_the_tool_is_still_regenerated(scratch):
    assert exercises.main(["--root", str(scratch)]) == 0  # generated before any set-up cell
    path = scratch / "solutions" / "01_toy.ipynb"
    solution = nbformat.read(str(path), as_version=4)
    solution.cells[1].source = solution.cells[1].source.replace("return 1", "return 2")
    nbformat.write(solution, str(path))  # now the exercise is out of date as well
    colab.main(["--root", str(scratch)])  # touches solutions and the stale exercise alike
    assert list(exercises.generate(scratch / "solutions", scratch / "exercises").values()) == ["updated"]
    assert exercises.check(scratch / "solutions", scratch / "exercises") == []
    learner = nbformat.read(str(scratch / "exercises" / "01_toy.ipynb"), as_version=4)
    learner.cells[2].source += "\n# my notes"  # an edited exercise stays an edited one
    nbformat.write(learner, str(scratch / "exercises" / "01_toy.ipynb"))
    colab.main(["--root", str(scratch)])
    assert list(exercises.generate(scratch / "solutions", scratch / "exercises").values()) == ["kept (has your edits)"]


# ---------------------------------------------------------------- the set-up cell in a real kernel


def run_cells(*sources: str) -> list[nbformat.NotebookNode]:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    km = grade.this_python_kernel()
    try:
        NotebookClient(nb, timeout=300, km=km).execute()
    finally:  # nbclient leaves running a kernel whose manager it was handed
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    return nb.cells


SPY = """\
import importlib.metadata, importlib.util, json, os, subprocess, sys
calls, before = [], set(sys.modules)
def fake_run(cmd, *args, **kwargs):
    calls.append([str(c) for c in cmd])
    return subprocess.CompletedProcess(cmd, 0, stdout="", stderr="")
subprocess.run = subprocess.check_call = subprocess.call = fake_run
os.system = lambda cmd: calls.append(["os.system", cmd]) or 0
"""
REPORT = """\
print(json.dumps({"calls": calls, "new": sorted(m for m in set(sys.modules) - before
                                           if m.startswith(("course_lib", "google")))}))"""


def test_setup_cell_does_nothing_outside_colab():
    cells = run_cells(SPY, colab.setup_source(REPO_URL), REPORT)
    assert cells[1].outputs == []
    report = json.loads(cells[2].outputs[0]["text"])
    assert report == {"calls": [], "new": []}


def test_setup_cell_in_a_simulated_colab_installs_without_dependencies_then_prepares_data():
    colab_like = SPY + """\
import types
sys.modules["google"] = types.ModuleType("google")
sys.modules["google.colab"] = types.ModuleType("google.colab")
real_find_spec, real_version = importlib.util.find_spec, importlib.metadata.version
importlib.util.find_spec = lambda name, *a: None if name == "course_lib" else real_find_spec(name, *a)
def version(name):
    if name == "scikit-image":  # pretend Colab lacks one dependency
        raise importlib.metadata.PackageNotFoundError(name)
    return real_version(name)
importlib.metadata.version = version
"""
    cells = run_cells(colab_like, colab.setup_source(REPO_URL), REPORT)
    calls = json.loads(cells[2].outputs[0]["text"])["calls"]
    python = calls[0][0]
    assert calls == [
        [python, "-m", "pip", "install", "--quiet", "--no-deps", f"course-lib @ git+{REPO_URL}@main"],
        [python, "-m", "pip", "install", "--quiet", "scikit-image>=0.21"],
        [python, "-m", "course_lib.data", "--prepare"],
    ]
    printed = "".join(o.get("text", "") for o in cells[1].outputs)
    assert printed.startswith("Course ready; computing on ")


# ---------------------------------------------------------------- Binder: environment.yml


def parse_simple_yaml_list(text: str) -> dict:
    """Just enough YAML for environment.yml: top-level keys, '- item' lists, one nested 'pip:' list."""
    data: dict = {}
    key = None
    pip: list | None = None
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        item = line.strip()
        if indent == 0:
            key, _, value = item.partition(":")
            data[key] = value.strip() or []
            pip = None
        elif item.startswith("- ") and item[2:].strip().endswith(":") and key == "dependencies":
            pip = []
            data[key].append({item[2:].strip()[:-1]: pip})
        elif item.startswith("- "):
            (pip if pip is not None and indent > 2 else data[key]).append(item[2:].strip())
    return data


def environment() -> dict:
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    try:
        import yaml
    except ImportError:
        return parse_simple_yaml_list(text)
    data = yaml.safe_load(text)
    assert parse_simple_yaml_list(text) == data, "the fallback parser misreads environment.yml"
    return data


CONDA_NAMES = {"torch": ("pytorch-cpu", "pytorch")}  # pip name -> accepted conda-forge names


def split_requirement(req: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", req)
    return match.group(1).lower(), match.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject_dependencies():
    env = environment()
    project = colab._pyproject(ROOT)["project"]
    assert env["channels"] == ["conda-forge"]
    conda = {}
    pip_items = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_items += dep["pip"]
        else:
            name, spec = split_requirement(dep)
            conda[name] = spec
    assert pip_items == ["."], "environment.yml installs the course itself with pip"
    assert "pip" in conda and "python" in conda
    assert "pytorch-cpu" in conda, "Binder has no GPU: use the CPU build of PyTorch"
    wanted = {}
    for req in project["dependencies"]:
        name, spec = split_requirement(req)
        match = [n for n in CONDA_NAMES.get(name, (name,)) if n in conda]
        assert match, f"{name} (pyproject.toml) is missing from environment.yml"
        assert conda[match[0]] == spec, f"{name}: pyproject.toml says {spec!r}, environment.yml {conda[match[0]]!r}"
        wanted[match[0]] = spec
    extra = set(conda) - set(wanted) - {"python", "pip"}
    assert not extra, f"environment.yml lists packages pyproject.toml does not: {sorted(extra)}"
    minor = conda["python"].lstrip("=")  # python=3.11
    low = re.search(r">=\s*([\d.]+)", project["requires-python"]).group(1)
    assert tuple(map(int, minor.split(".")[:2])) >= tuple(map(int, low.split("."))), "python too old for requires-python"


def test_the_fallback_parser_reads_the_nested_pip_list():
    text = "name: x\nchannels:\n  - conda-forge\ndependencies:\n  - numpy>=1.24  # comment\n  - pip\n  - pip:\n      - .\n"
    assert parse_simple_yaml_list(text) == {"name": "x", "channels": ["conda-forge"],
                                            "dependencies": ["numpy>=1.24", "pip", {"pip": ["."]}]}


# ---------------------------------------------------------------- wiring


def test_make_and_ci_run_the_platform_targets():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("notebooks-setup", "html", "test-browser", "test"):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"Makefile has no {target} target"
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make .*test-browser", ci, re.M) and "chromium-driver" in ci
