"""tools/build_site.py without executing anything: the lessons it publishes, the landing page, the
launch links on each lesson page, the download copies, and the cache kept per mode."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from course_lib.course import LESSONS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _course_copy(tmp_path: Path) -> Path:
    """The parts of the repository the site reads, in a folder a test may change."""
    root = tmp_path / "repo"
    for folder in ("notebooks", "exercises", "solutions", "course_lib"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    for name in ("README.md", "pyproject.toml"):
        shutil.copy(ROOT / name, root / name)
    return root


def test_every_lesson_notebook_is_published_in_course_order(site):
    published = [item["stem"] for item in site.lessons()]
    on_disk = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert published == on_disk
    listed = {Path(lesson.notebook).stem: lesson.title for lesson in LESSONS}
    for item in site.lessons():
        if item["stem"] in listed:
            assert item["title"] == listed[item["stem"]]


def test_a_notebook_the_manifest_does_not_list_yet_is_published_too(site, tmp_path):
    root = _course_copy(tmp_path)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 99 · A lesson in the making")])
    nbformat.write(nb, str(root / "notebooks" / "99_new.ipynb"))
    last = site.lessons(root)[-1]
    assert last == {"number": "99", "stem": "99_new", "title": "A lesson in the making"}


def test_run_times_are_read_from_the_readme(site):
    times = site.run_times((ROOT / "README.md").read_text(encoding="utf-8"))
    assert set(times["cpu"]) >= {lesson.number for lesson in LESSONS if (ROOT / "notebooks" / lesson.notebook).exists()
                                 and lesson.number <= "06"}
    assert all(0 < seconds < 3600 for seconds in times["cpu"].values())
    text = ("### Expected run times\n\n- On a 2-core CPU: 00 setup 7 s, 01 72 s.\n"
            "- On a GPU (an H100): 00 3 s, 01 9 s.\n- Exercises are light.\n\n## Next\n- 02 5 s\n")
    assert site.run_times(text) == {"cpu": {"00": 7, "01": 72}, "gpu": {"00": 3, "01": 9}}


def test_landing_page_lists_every_lesson_with_its_times_and_how_to_run(site):
    items = site.lessons()
    template = (ROOT / "site" / "index.md").read_text(encoding="utf-8")
    page = site.landing_page(items, {"cpu": {"01": 72}, "gpu": {}}, template)
    for item in items:
        assert f"(notebooks/{item['stem']}.ipynb)" in page and f"\nnotebooks/{item['stem']}\n" in page
    assert "| 72 s |" in page and "not measured yet" in page
    assert "REPOSITORY_URL" not in page and "git clone https://github.com/" in page
    for words in ("## Who it is for", "## Run the course", "Colab", "Binder", "make lab"):
        assert words in page
    with pytest.raises(SystemExit, match="marker"):
        site.landing_page(items, {"cpu": {}, "gpu": {}}, "# No marker here\n")


def test_lesson_page_has_launch_links_instead_of_the_badge_and_hides_the_colab_cell(site):
    stem = next(p.stem for p in sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb")))
    original = nbformat.read(str(ROOT / "notebooks" / f"{stem}.ipynb"), as_version=4)
    page = site.site_notebook(ROOT / "notebooks" / f"{stem}.ipynb")
    text = json.dumps(page)
    assert "colab-badge.svg" not in text
    links = next(c for c in page.cells if c.get("id") == "site-launch-links").source
    for rel in (f"notebooks/{stem}.ipynb", f"exercises/{stem}.ipynb"):
        assert f"colab.research.google.com/github/sae-course/sparse-autoencoders-hands-on/blob/main/{rel}" in links
        assert f"urlpath=lab/tree/{rel}" in links
        assert f"Download notebook <../_files/{rel}>" in links
    assert f"_files/solutions/{stem}.ipynb" in links
    # Code cells are the original ones, in order (the execution cache keys on them).
    assert [c.source for c in page.cells if c.cell_type == "code"] == \
           [c.source for c in original.cells if c.cell_type == "code"]
    setup = [c for c in page.cells if c.cell_type == "code" and c.source.startswith("# @title Course setup")]
    assert setup and all("remove-cell" in c.metadata["tags"] for c in setup)


def test_sources_are_laid_out_and_stale_pages_removed(site, tmp_path):
    src = tmp_path / "src"
    (src / "notebooks").mkdir(parents=True)
    (src / "notebooks" / "42_renamed.ipynb").write_text("{}")
    items = site.prepare(src)
    assert not (src / "notebooks" / "42_renamed.ipynb").exists()
    for item in items:
        name = f"{item['stem']}.ipynb"
        assert (src / "notebooks" / name).exists()
        assert (src / "_files" / "notebooks" / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()
        if (ROOT / "exercises" / name).exists():
            assert (src / "_files" / "exercises" / name).read_bytes() == (ROOT / "exercises" / name).read_bytes()
    before = (src / "index.md").stat().st_mtime_ns
    site.prepare(src)  # nothing changed: time stamps kept, so Sphinx has nothing to re-read
    assert (src / "index.md").stat().st_mtime_ns == before


def test_fast_and_full_executions_are_cached_apart_and_dropped_when_course_lib_changes(site, tmp_path):
    root = _course_copy(tmp_path)
    fast, full = site.cache_folder("fast", root), site.cache_folder("full", root)
    assert fast != full and fast.name == "fast" and full.name == "full"
    (fast / "executed.txt").write_text("kept")
    assert (site.cache_folder("fast", root) / "executed.txt").exists()  # same library: kept
    (root / "course_lib" / "sparsity.py").write_text((root / "course_lib" / "sparsity.py").read_text() + "\n# edit\n")
    assert not (site.cache_folder("fast", root) / "executed.txt").exists()


def test_readme_points_to_the_published_site(site):
    owner, name = site.colab.github_slug(site.colab.repository_url()).split("/")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"https://{owner}.github.io/{name}/" in readme
    assert "make site" in readme and "render_html" not in readme


def test_a_prose_edit_finds_the_cached_execution_and_a_code_edit_does_not(site, tmp_path):
    try:
        from jupyter_cache import get_cache
        from jupyter_cache.base import CacheBundleIn
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("the site's tools are required under CI (make test installs the extra 'site')")
        pytest.skip("needs the site's tools: pip install -e '.[site]'")

    cache = get_cache(str(tmp_path / "cache"))
    stem = site.lessons()[0]["stem"]
    executed = site.site_notebook(ROOT / "notebooks" / f"{stem}.ipynb")
    for cell in executed.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="measured\n")]
    cache.cache_notebook_bundle(CacheBundleIn(executed, uri=f"{stem}.ipynb"), check_validity=False)

    prose = site.site_notebook(ROOT / "notebooks" / f"{stem}.ipynb")
    next(c for c in prose.cells if c.cell_type == "markdown").source += "\n\nA sentence added to the prose."
    record = cache.match_cache_notebook(prose)
    _, merged = cache.merge_match_into_notebook(prose)
    assert record and any(c.get("outputs") for c in merged.cells if c.cell_type == "code")
    assert "A sentence added to the prose." in merged.cells[0].source

    code = site.site_notebook(ROOT / "notebooks" / f"{stem}.ipynb")
    next(c for c in code.cells if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])).source += "\nx = 1"
    with pytest.raises(KeyError):
        cache.match_cache_notebook(code)
