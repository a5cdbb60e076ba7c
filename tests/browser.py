"""Launching Debian's Chromium for the Playwright tests (`playwright install` cannot download here)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium tries to reach Google's services at start; this
# machine's network is closed, and the tests must only talk to loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def launch_chromium(playwright):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed at /usr/bin/chromium (scripts/setup.sh installs it)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@contextmanager
def open_page(browser, base_url: str, width: int = 1200, height: int = 900, **options) -> Iterator:
    """A fresh browser context and page; any JavaScript error on the page fails the test."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"
