"""Launching Debian's Chromium for the Playwright tests (`playwright install` cannot download here)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ops.browser import chromium_missing, launch

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def launch_chromium(playwright):
    missing = chromium_missing()
    if missing:
        pytest.fail(missing)
    return launch(playwright)


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
