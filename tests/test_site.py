"""The course website in a real browser: a fast-mode build opened from disk in headless Chromium.

``make test-browser`` (and CI) runs this. It builds the site in fast mode (``tools/build_site.py``,
what ``COURSE_FAST=1 make site`` runs; executions are cached in ``build/site-cache/fast/``, so a
second run only renders) into a temporary folder and opens its pages as ``file://`` URLs, as a
reader who downloaded the site would, with no server and no network:

* the landing page lists every lesson, with its maths typeset, and says it is a fast-mode preview;
* a lesson page shows a figure that loaded (an ``<img>`` with ``naturalWidth > 0``);
* the maths of a lesson is typeset by MathJax (served from the site itself), with no TeX error;
* each lesson page links the lesson and its exercises to Colab, Binder and a download;
* the search page finds "KL", the KL lesson among the results;
* the "next" link of a lesson leads to the next lesson.

Screenshots for a person to look at are saved in ``build/screenshots/site-*.png``. Without
Chromium and its driver the test is skipped, except under CI (``CI=true``), where it fails.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import helpers
import nbformat
import pytest
from helpers import headless_chromium

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SHOTS, CHROMIUM, DRIVER = helpers.SHOTS, helpers.CHROMIUM, helpers.DRIVER


def _lesson_stems() -> list[str]:
    return sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _has_maths(stem: str) -> bool:
    nb = nbformat.read(str(ROOT / "notebooks" / f"{stem}.ipynb"), as_version=4)
    return any(c.cell_type == "markdown" and "$" in c.source for c in nb.cells)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A fast-mode build of the site; yields its folder."""
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("chromium and chromium-driver are required under CI (.ci/run installs them)")
        pytest.skip("needs the Debian packages chromium and chromium-driver")
    pytest.importorskip("selenium")
    pytest.importorskip("myst_nb", reason="the site's tools: pip install -e '.[site]'")
    base = tmp_path_factory.mktemp("site")
    out = base / "site"
    env = dict(os.environ, COURSE_FAST="1")
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out),
                           "--src", str(base / "src")], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=2400)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    print(f"fast-mode site built in {time.monotonic() - start:.0f} s: {done.stdout.strip().splitlines()[-1]}")
    return out


@pytest.fixture(scope="module")
def browser(site):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("site-*.png"):
        old.unlink()
    with headless_chromium() as driver:
        yield driver


def wait_for(driver, condition, timeout: float, what: str):
    return helpers.wait_for(driver, condition, timeout, what, shot="site-timeout.png")


def css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def page(site: Path, stem: str) -> str:
    return (site / "notebooks" / f"{stem}.html").as_uri()


def shoot(driver, element, name: str) -> None:
    if element is not None:
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    time.sleep(0.5)
    driver.save_screenshot(str(SHOTS / name))


def typeset(driver) -> list:
    """The MathJax output elements of the page, once MathJax has finished."""
    ready = "return window.MathJax && MathJax.startup && MathJax.startup.promise ? true : false"
    wait_for(driver, lambda d: d.execute_script(ready), 30, "MathJax to load")
    driver.execute_async_script("MathJax.startup.promise.then(() => arguments[0](true))")
    return css(driver, "mjx-container")


def test_landing_page_lists_the_lessons_with_typeset_maths(site, browser):
    browser.get((site / "index.html").as_uri())
    wait_for(browser, lambda d: "Sparse Autoencoders, hands-on" in css(d, "article h1")[0].text, 30, "the title")
    listed = {a.get_attribute("href").rsplit("/", 1)[-1] for a in css(browser, "article table a")}
    assert {f"{stem}.html" for stem in _lesson_stems()} <= listed
    maths = typeset(browser)
    assert maths and not css(browser, "mjx-merror"), "the KL formula of the landing page is typeset"
    assert "Fast-mode preview" in browser.page_source, "a fast build says so on its pages"
    for words in ("Who it is for", "Run the course", "Colab", "Binder"):
        assert words in browser.find_element("tag name", "article").text
    shoot(browser, None, "site-1-landing.png")
    shoot(browser, maths[-1], "site-2-landing-maths.png")


def test_a_lesson_page_shows_a_figure_that_loaded(site, browser):
    for stem in _lesson_stems():
        browser.get(page(site, stem))
        wait_for(browser, lambda d: css(d, "article h1"), 30, f"{stem} to load")
        images = [img for img in css(browser, ".cell_output img")
                  if browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img)]
        if images:
            break
    else:
        pytest.fail("no lesson page shows a figure that loaded")
    size = browser.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", images[0])
    assert size[0] > 200 and size[1] > 100, f"the figure of {stem} is {size} pixels"
    assert not [img for img in css(browser, "img")
                if not browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)], \
        f"an image of {stem} did not load (the site must need no network)"
    shoot(browser, images[0], "site-3-lesson-figure.png")


def test_lesson_maths_is_typeset_and_launch_links_are_there(site, browser):
    stem = next(s for s in _lesson_stems() if _has_maths(s))
    browser.get(page(site, stem))
    maths = typeset(browser)
    assert len(maths) >= 2 and not css(browser, "mjx-merror"), f"the maths of {stem} is typeset"
    shoot(browser, maths[0], "site-4-lesson-maths.png")

    hrefs = [a.get_attribute("href") for a in css(browser, ".launch-links a")]
    assert any("colab.research.google.com" in h and f"notebooks/{stem}.ipynb" in h for h in hrefs)
    assert any("mybinder.org" in h and f"notebooks/{stem}.ipynb" in h for h in hrefs)
    if (ROOT / "exercises" / f"{stem}.ipynb").exists():
        assert any("colab.research.google.com" in h and f"exercises/{stem}.ipynb" in h for h in hrefs)
    downloads = [h for h in hrefs if "_downloads" in h]
    assert len(downloads) >= 2, f"no download links for the lesson and its exercises on {stem}: {hrefs}"
    for href in downloads:
        path = Path(href.removeprefix("file://"))
        assert path.is_file() and nbformat.read(str(path), as_version=4).cells, href
    body = browser.find_element("tag name", "article").text
    assert "# BEGIN SOLUTION" not in body, "solutions are linked, not shown"
    shoot(browser, css(browser, ".launch-links")[0], "site-5-launch-links.png")


def test_search_finds_kl(site, browser):
    browser.get((site / "search.html").as_uri() + "?q=KL")
    results = wait_for(browser, lambda d: css(d, "#search-results ul.search li a"), 60, "search results for 'KL'")
    targets = [a.get_attribute("href") for a in results]
    kl = [stem for stem in _lesson_stems() if "kl" in stem]
    assert any(stem in href for stem in kl for href in targets), targets
    shoot(browser, None, "site-6-search-kl.png")


def test_next_link_leads_to_the_next_lesson(site, browser):
    stems = _lesson_stems()
    browser.get(page(site, stems[0]))
    link = wait_for(browser, lambda d: css(d, "a.right-next"), 30, "the link to the next lesson")[0]
    shoot(browser, link, "site-7-next-link.png")
    browser.execute_script("arguments[0].click()", link)
    wait_for(browser, lambda d: d.current_url.endswith(f"{stems[1]}.html"), 30, f"{stems[1]} to open")
    heading = wait_for(browser, lambda d: css(d, "article h1"), 30, "the next lesson's title")[0].text
    assert heading.startswith(stems[1][:2])
    shoot(browser, None, "site-8-next-lesson.png")
