"""Helpers shared by several test modules: processes seen from /proc, and a headless Chromium."""
from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def processes_with(marker: str) -> list[int]:
    """Processes whose command line holds ``marker`` (from /proc: seen from outside any sandbox)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@contextlib.contextmanager
def headless_chromium():
    """A Selenium driver for Debian's Chromium, headless, 1400 x 1000; quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, condition, timeout: float, what: str, shot: str = "timeout.png"):
    """Poll ``condition(driver)`` until it returns something truthy; on timeout save a screenshot
    as ``build/screenshots/<shot>`` and fail with ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition(driver)
        except Exception:  # stale elements while a page re-renders, or a page still loading
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            SHOTS.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(SHOTS / shot))
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (screenshot: {SHOTS / shot})")
        time.sleep(0.5)
