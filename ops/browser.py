"""Launching Debian's Chromium with Playwright (`playwright install` cannot download here).

Shared by the browser tests (tests/browser.py) and the benchmark's page measurements (ops/page_bench.py).
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium tries to reach Google's services at start; this
# machine's network is closed, and nothing here may talk to anything but loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_missing() -> str:
    """Why Chromium cannot be launched, or "" when it can."""
    if not Path(CHROMIUM).exists():
        return f"Debian's chromium is not installed at {CHROMIUM} (scripts/setup.sh installs it)"
    return ""


def launch(playwright):
    """A headless Debian Chromium through Playwright's sync API."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
