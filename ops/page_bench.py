"""The benchmark's page measurements: what a learner sees in Chromium after clicking "Build and check".

The page itself notes, with the wall clock (Date.now), when the click happened, when the first log line was put
into the page, and when the verdict was shown. A plain WebSocket client in this process notes (time.time, the
same clock) when the same verdict reached it, so the difference is what the page adds on top of the stream.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from websockets.sync.client import connect

from .browser import launch
from .livestack import PASSWORD, LiveStack

# Installed in the page before each click. The MutationObservers run as soon as the page changes its DOM.
WATCH_SCRIPT = """
() => {
  const ws = window.dockyardWorkspace;
  const t = { before: ws.current ? ws.current.id : null, click: 0, firstLog: 0, verdict: 0 };
  window.dockyardBench = t;
  const fresh = () => t.click && ws.current && ws.current.id !== t.before;
  const button = document.querySelector("[data-action=submit]");
  document.addEventListener("click", (event) => {
    if (!t.click && button.contains(event.target)) t.click = Date.now();
  }, { capture: true });
  const log = document.querySelector("[data-role=log]");
  new MutationObserver(() => {
    if (!t.firstLog && fresh() && log.textContent.trim()) t.firstLog = Date.now();
  }).observe(log, { childList: true, subtree: true, characterData: true });
  const state = document.querySelector("[data-role=build-state]");
  new MutationObserver(() => {
    if (!t.verdict && fresh() && ["passed", "failed", "error"].includes(state.dataset.state)) t.verdict = Date.now();
  }).observe(state, { attributes: true });
}
"""


@dataclass
class PageRun:
    """Seconds from the click to the first log line and to the verdict on the page, and the page's lag behind
    a plain WebSocket client that received the same verdict."""

    first_line: float
    verdict: float
    lag_after_ws: float
    # Each stage of the submission (sandbox/timings.py) in seconds after the click, the page's own marks too.
    from_click: dict[str, float]


class PageBench:
    """One Chromium page signed in as a learner of its own, on one exercise of the live stack."""

    def __init__(self, playwright, stack: LiveStack, exercise: str, username: str):
        self.stack = stack
        self.exercise = exercise
        self.browser = launch(playwright)
        self.context = self.browser.new_context(base_url=stack.base_url, viewport={"width": 1200, "height": 900})
        self.page = self.context.new_page()
        path = f"/exercises/{exercise}/"
        self.page.goto(f"{stack.base_url}/accounts/signup/?next={path}")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password1", PASSWORD)
        self.page.fill("#id_password2", PASSWORD)
        self.page.click("form button[type=submit]")
        self.page.wait_for_url(lambda url: urlsplit(url).path == path)
        self.page.wait_for_function("() => window.dockyardWorkspace")

    def close(self) -> None:
        self.context.close()
        self.browser.close()

    def run(self, files: dict[str, str], timeout: float = 120.0) -> PageRun:
        """Put the files in the editors, click "Build and check", and time what the page shows."""
        self.page.evaluate("(files) => window.dockyardWorkspace.editors.setFiles(files)", files)
        # A learner stops typing before clicking: by then the live lint (0.6 s after the last keystroke) has
        # answered, instead of arriving in the middle of the measured build.
        self.page.wait_for_timeout(1200)
        self.page.evaluate(WATCH_SCRIPT)
        self.page.click("[data-action=submit]")
        self.page.wait_for_function(
            "() => { const ws = window.dockyardWorkspace, t = window.dockyardBench;"
            " return ws.current && ws.current.id && ws.current.id !== t.before; }",
            timeout=timeout * 1000,
        )
        submission_id = self.page.evaluate("() => window.dockyardWorkspace.current.id")
        # Playwright's objects belong to this thread: the listener gets the cookies, not the context.
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in self.context.cookies())
        at_socket: list[float] = []
        listener = threading.Thread(target=self._verdict_at_socket, args=(submission_id, cookies, at_socket, timeout))
        listener.start()
        self.page.wait_for_function("() => window.dockyardBench.verdict > 0", timeout=timeout * 1000)
        listener.join(timeout)
        marks = self.page.evaluate("() => window.dockyardBench")
        click = marks["click"] / 1000
        socket_verdict = at_socket[0] if at_socket else float("nan")
        timings = self.page.evaluate(
            "async (id) => (await (await fetch(`/api/submissions/${id}/`)).json()).timings", submission_id
        )
        from_click = {stage: round(at - click, 4) for stage, at in (timings or {}).items()}
        from_click.update(
            page_first_line=round(marks["firstLog"] / 1000 - click, 4) if marks["firstLog"] else float("nan"),
            page_verdict=round(marks["verdict"] / 1000 - click, 4),
            socket_verdict=round(socket_verdict - click, 4),
        )
        return PageRun(
            first_line=marks["firstLog"] / 1000 - click if marks["firstLog"] else float("nan"),
            verdict=marks["verdict"] / 1000 - click,
            lag_after_ws=marks["verdict"] / 1000 - socket_verdict,
            from_click=dict(sorted(from_click.items(), key=lambda item: item[1])),
        )

    def _verdict_at_socket(self, submission_id: int, cookies: str, found: list[float], timeout: float) -> None:
        headers = {"Cookie": cookies, "Origin": self.stack.base_url}
        url = f"{self.stack.ws_url}/ws/submissions/{submission_id}/"
        deadline = time.monotonic() + timeout
        with connect(url, additional_headers=headers, open_timeout=10) as ws:
            while time.monotonic() < deadline:
                event = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if event["type"] == "result":
                    found.append(time.time())
                    return
