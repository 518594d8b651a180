"""Debian's Chromium, headless, driven by Selenium through Debian's chromedriver.

The desk is tested as a team uses it, in a real browser, and the browser is the
system's own package: `/usr/bin/chromium` and `/usr/bin/chromedriver` are given by
path, so Selenium Manager is never asked to find (or download) anything, and
`SE_OFFLINE=1` forbids it anyway. The flags keep Chromium off the network (this
machine's network is closed; without them it keeps calling Google's hosts) and give
each browser a fresh profile in a temporary folder.

    from browser import chromium, require_browser

    def test_page(tmp_path):
        require_browser()                     # skip (locally) or fail (CI) without it
        with chromium(tmp_path / "profile") as driver:
            driver.get(url)

Skipped only when the browser or its driver is missing outside CI; under `CI` (as
`.ci/run` sets it, and installs both) a missing browser fails the test.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Headless, no GPU, no sandbox (containers), and nothing that reaches the network.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)
#: Screenshots and page dumps of the browser tests, kept after the run (git-ignored).
ARTEFACTS = Path(__file__).resolve().parents[2] / "outputs" / "test-artefacts" / "desk"
#: How long a page may take to load, and a script to answer.
PAGE_WAIT_S = 30.0

T = TypeVar("T")


def missing() -> str | None:
    """Why the browser cannot be started here (None when both programs are present)."""
    for program, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (program.is_file() and os.access(program, os.X_OK)):
            return f"{program} is missing (apt-get install {package})"
    return None


def require_browser() -> None:
    """Skip the test when the browser is missing on a developer's machine; fail it in CI,
    where `.ci/run` installs the browser, so a missing one is a broken setup."""
    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs it)")
    pytest.skip(f"{reason}; CI installs it and runs these tests")


@contextlib.contextmanager
def chromium(profile: Path, *, width: int = 1280, height: int = 1000) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile in `profile`, quit after the block."""
    os.environ["SE_OFFLINE"] = "1"  # Selenium Manager may never download a browser or driver
    profile.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_WAIT_S)
    driver.set_script_timeout(PAGE_WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def wait_until(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll `check` until it returns something truthy (returned); a clear error after
    `timeout` seconds saying what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.2)


def artefact_folder() -> Path:
    """The folder the browser tests keep their screenshots in (made when missing)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS


def screenshot(driver: WebDriver, name: str, *, whole_page: bool = True) -> Path:
    """A PNG of the current page in the artefact folder (`name`.png). With `whole_page`
    the window is first grown to the page's height, so nothing below the fold is lost."""
    size = driver.get_window_size()
    if whole_page:
        height = driver.execute_script(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
        )
        driver.set_window_size(size["width"], min(max(int(height) + 40, 600), 8000))
    path = artefact_folder() / f"{name}.png"
    try:
        assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    finally:
        if whole_page:
            driver.set_window_size(size["width"], size["height"])
    return path
