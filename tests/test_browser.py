"""The course in a real browser: JupyterLab driven by headless Chromium.

``make test-browser`` (and CI) runs this. It copies the course's notebooks into a temporary
folder (JupyterLab autosaves and writes checkpoints, so the repository is never served), starts
JupyterLab on 127.0.0.1 with a token, opens an exercise notebook, runs all cells and checks that

* every code cell ran without an error,
* a check printed its feedback,
* a quiz form rendered, and answering it in the browser (radio button, then *Check*) shows the
  verdict computed by the kernel,
* a plot is shown (in the exercise notebook, or else in the lesson notebook 00_setup),
* filling in the first graded function (with its solution) and running it and its check turns
  the check's feedback into a pass, and the score cell then counts it.

Screenshots for a person to look at are saved in ``build/screenshots/``. Without Chromium and
its driver the test is skipped, except under CI (``CI=true``), where it fails.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
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
PLOT_CALLS = ("plt.", "plots.", ".imshow(", ".plot(", "fig.", "_grid(", "show_")


def _code(path: Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def pick_exercise() -> tuple[Path, bool]:
    """The first exercise notebook with a quiz and a check, preferring one that also plots."""
    candidates = []
    for path in sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb")):
        code = _code(path)
        if "quiz.ask(" in code and "check_" in code:
            candidates.append((path, any(call in code for call in PLOT_CALLS)))
    assert candidates, "the course has no exercise notebook with a quiz and a check"
    with_plot = [c for c in candidates if c[1]]
    return (with_plot or candidates)[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a temporary copy of the course's notebooks; yields (url, token)."""
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("chromium and chromium-driver are required under CI (.ci/run installs them)")
        pytest.skip("needs the Debian packages chromium and chromium-driver")
    pytest.importorskip("selenium")
    base = tmp_path_factory.mktemp("lab")
    served = base / "course"
    for folder in ("notebooks", "exercises"):
        shutil.copytree(ROOT / folder, served / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = base / "settings"
    for name, content in {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(content))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_RUNTIME_DIR=str(base / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
               COURSE_FAST="1", COURSE_PROGRESS_FILE=str(base / "progress.json"))
    env.pop("COURSE_STRICT_CHECKS", None)
    port, token = _free_port(), "course-browser-test"
    log = open(base / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={served}",
         "--LabApp.expose_app_in_browser=True"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, (base / "lab.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "JupyterLab did not start within 120 s"
            time.sleep(0.5)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    with headless_chromium() as driver:
        yield driver


# ---------------------------------------------------------------- helpers


def wait_for(driver, condition, timeout: float, what: str):
    return helpers.wait_for(driver, condition, timeout, what, shot="browser-timeout.png")


def css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def open_and_run_all(driver, url: str, token: str, rel: str, shot: str) -> None:
    driver.get(f"{url}/lab/tree/{rel}?token={token}&reset")
    wait_for(driver, lambda d: [e for e in css(d, ".jp-NotebookPanel .jp-Notebook") if e.is_displayed()],
             120, f"{rel} to open")
    wait_for(driver, lambda d: any("Idle" in e.text for e in css(d, ".jp-StatusBar-TextItem")), 120,
             "the kernel to be idle")
    driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")

    def finished(d):
        prompts = [e.text.strip() for e in css(d, ".jp-CodeCell .jp-InputArea-prompt")]
        return prompts and all(p not in ("[ ]:", "[*]:", "") for p in prompts)

    wait_for(driver, finished, 600, f"every cell of {rel} to finish")
    wait_for(driver, lambda d: any("Idle" in e.text for e in css(d, ".jp-StatusBar-TextItem")), 60,
             "the kernel to be idle after the run")
    first = css(driver, ".jp-NotebookPanel .jp-Notebook .jp-Cell")[0]
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", first)
    time.sleep(0.7)
    driver.save_screenshot(str(SHOTS / shot))


def show(driver, element, shot: str) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    time.sleep(0.7)
    driver.save_screenshot(str(SHOTS / shot))


def rendered_plots(driver):
    return [img for img in css(driver, ".jp-RenderedImage img")
            if driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img)]


def first_graded_function(solution: Path) -> tuple[str, str, str]:
    """(cell id, source without markers, function name) of the first solved function."""
    import re

    for cell in nbformat.read(str(solution), as_version=4).cells:
        match = re.search(r"^def (\w+)\(", cell.source, re.M)
        if cell.cell_type == "code" and "# BEGIN SOLUTION" in cell.source and match:
            source = "\n".join(line for line in cell.source.split("\n")
                                if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
            return cell.id, source, match.group(1)
    raise AssertionError(f"{solution.name} has no solved function")


_NOTEBOOK = "window.jupyterapp.shell.currentWidget.content"


def run_cells_after_edit(driver, cell_id, source, marker: str) -> int:
    """Replace cell ``cell_id``'s source and run it (if given), then run the first later cell
    whose source contains ``marker``; return that cell's index."""
    edited, index = driver.execute_script(f"""
        const cells = {_NOTEBOOK}.widgets;
        let start = 0;
        if (arguments[0] !== null) {{
            start = cells.findIndex(c => c.model.id === arguments[0]);
            if (start < 0) return [-1, -1];
            cells[start].model.sharedModel.setSource(arguments[1]);
        }}
        return [start, cells.findIndex((c, i) => i >= start && c.model.sharedModel.getSource().includes(arguments[2]))];
    """, cell_id, source, marker)
    assert edited >= 0, f"no cell with id {cell_id!r} in the open notebook"
    assert index >= 0, f"no cell containing {marker!r} in the open notebook"
    for i in ([edited] if cell_id is not None else []) + [index]:
        driver.execute_script(f"""
            const nb = {_NOTEBOOK};
            nb.activeCellIndex = arguments[0];
            nb.deselectAll();
            return window.jupyterapp.commands.execute('notebook:run-cell');
        """, i)
        wait_for(driver, lambda d: any("Idle" in e.text for e in css(d, ".jp-StatusBar-TextItem")), 120,
                 "the kernel to be idle after running a cell")
    return index


def cell_node(driver, index: int):
    return driver.execute_script(f"return {_NOTEBOOK}.widgets[arguments[0]].node", index)


def cell_output(driver, index: int) -> str:
    return driver.execute_script(
        f"const n = {_NOTEBOOK}.widgets[arguments[0]].node.querySelector('.jp-OutputArea');"
        "return n ? n.innerText : '';", index)


# ---------------------------------------------------------------- the test


def test_exercise_notebook_runs_in_jupyterlab_with_checks_quiz_and_plots(lab, browser):
    from selenium.webdriver.common.by import By

    url, token = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("browser-*.png"):
        old.unlink()
    start = time.monotonic()
    exercise, has_plot = pick_exercise()
    rel = f"exercises/{exercise.name}"
    open_and_run_all(browser, url, token, rel, "browser-1-exercise-top.png")

    errors = [e.text for e in css(browser, ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
              if "Traceback" in e.text or "Error" in e.text.split("\n")[0]]
    assert not errors, f"cells of {rel} raised in the browser: {errors[:2]}"

    feedback = wait_for(browser, lambda d: [e for e in css(d, ".jp-OutputArea-output")
                                            if "Not implemented yet" in e.text], 30, "a check's feedback")
    assert "fill in `" in feedback[0].text
    show(browser, feedback[0], "browser-2-check-feedback.png")

    radios = wait_for(browser, lambda d: css(d, ".widget-radio-box input[type=radio]"), 60, "a quiz form")
    form = radios[0].find_element(By.XPATH, "./ancestor::div[contains(@class, 'widget-vbox')][1]")
    prompt = form.find_element(By.CSS_SELECTOR, ".widget-htmlmath").text
    assert prompt.strip(), "the quiz form shows its question"
    options = form.find_elements(By.CSS_SELECTOR, ".widget-radio-box input[type=radio]")
    assert len(options) >= 2
    options[0].click()
    button = [b for b in form.find_elements(By.CSS_SELECTOR, "button.jupyter-button") if b.text.strip() == "Check"]
    assert button, "the quiz form has a Check button"
    button[0].click()
    verdict = wait_for(browser, lambda d: [t for t in (e.text for e in form.find_elements(By.CSS_SELECTOR, ".widget-htmlmath"))
                                           if "Correct!" in t or "Not quite." in t], 60,
                       "the kernel's verdict in the quiz form")
    assert len(verdict[0]) > 40, "the verdict comes with the explanation"
    show(browser, form, "browser-3-quiz-answered.png")

    if not has_plot:  # this exercise notebook draws nothing: a lesson notebook does
        open_and_run_all(browser, url, token, "notebooks/00_setup.ipynb", "browser-4-lesson-top.png")
    plots = wait_for(browser, rendered_plots, 60, "a plot")
    size = browser.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", plots[0])
    assert size[0] > 200 and size[1] > 100, f"the plot is {size} pixels"
    show(browser, plots[0], "browser-5-plot.png")

    # A learner fills in the first graded function, runs it and its check, then the score cell.
    if not has_plot:
        open_and_run_all(browser, url, token, rel, "browser-1-exercise-top.png")
    cell_id, source, name = first_graded_function(ROOT / "solutions" / exercise.name)
    check_at = run_cells_after_edit(browser, cell_id, source, f"checks.check_{name}(")
    passed = wait_for(browser, lambda d: "✅" in cell_output(d, check_at) and cell_output(d, check_at),
                      60, f"the check of `{name}` to pass in the browser")
    assert name in passed and "Not implemented" not in passed
    show(browser, cell_node(browser, check_at), "browser-6-check-passed.png")
    summary_at = run_cells_after_edit(browser, None, None, "course.summary(")
    score = wait_for(browser, lambda d: "checks 1/" in cell_output(d, summary_at) and cell_output(d, summary_at),
                     60, "the score cell to count the passed check")
    show(browser, cell_node(browser, summary_at), "browser-7-score.png")
    print(f"browser test: {rel} (+ plot {'there' if has_plot else 'in notebooks/00_setup.ipynb'}); "
          f"`{name}` filled in and passed; score {score.strip()!r}; {time.monotonic() - start:.0f} s; "
          f"screenshots in {SHOTS}")
