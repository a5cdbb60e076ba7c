"""Live lint, run so that no request can hold the web server: a time box, a few threads per process, and a rate
limit per client.

Linting runs hadolint (a subprocess) and our own parser, which can take seconds on a large, odd Dockerfile.
Under Daphne every synchronous Django view shares one thread, so a slow lint there would make every other
visitor wait. The lint view is asynchronous instead and hands the work to a small pool of its own threads
(LINT_WORKERS per process): when they are all busy, a request is answered at once with 503 and words, and
hadolint is stopped at LINT_TIMEOUT_SECONDS. Each client (the account when logged in, else the address) may
ask LINT_REQUESTS_PER_MINUTE times a minute; the counters live in Django's cache, shared by every web process
in production (docs/security.md).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from sandbox.grading import lint_dockerfile

# The view waits this much longer than hadolint's own limit, for the parser and the answer.
GRACE_SECONDS = 2.0


class LintBusy(Exception):
    """Every lint thread of this process is working; nothing was started."""


class LintTimedOut(Exception):
    """The lint did not finish within the time box."""


class LintRunner:
    """A pool of LINT_WORKERS threads with as many slots: a slot is held until its lint really ends, so threads
    that outlive their request (a lint past its time box) still count, and work never piles up behind them."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dockyard-lint")
        self.slots = threading.BoundedSemaphore(workers)

    async def run(self, text: str, timeout: float, secret_ids: Sequence[str] = ()) -> list[dict]:
        if not self.slots.acquire(blocking=False):
            raise LintBusy
        try:
            future = self.pool.submit(self._lint, text, timeout, secret_ids)
        except BaseException:
            self.slots.release()
            raise
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout + GRACE_SECONDS)
        except TimeoutError:
            raise LintTimedOut from None

    def _lint(self, text: str, timeout: float, secret_ids: Sequence[str]) -> list[dict]:
        try:
            return list(lint_dockerfile(text, secret_ids, hadolint_timeout=timeout))
        finally:
            self.slots.release()


_runner: LintRunner | None = None
_runner_lock = threading.Lock()


def runner() -> LintRunner:
    """This process's lint runner, made on first use (with the LINT_WORKERS of that moment)."""
    global _runner
    with _runner_lock:
        if _runner is None or _runner.workers != settings.LINT_WORKERS:
            _runner = LintRunner(settings.LINT_WORKERS)
        return _runner


async def lint_in_time_box(text: str, secret_ids: Sequence[str] = ()) -> list[dict]:
    """The lint problems of `text`; raises LintBusy or LintTimedOut instead of making anyone wait.

    secret_ids: the build secrets the exercise declares, which its Dockerfile may mount.
    """
    return await runner().run(text, float(settings.LINT_TIMEOUT_SECONDS), list(secret_ids))


async def client_key(request: HttpRequest) -> str:
    """Who is asking: the account when logged in, else the address the request came from."""
    user = await request.auser()
    if user.is_authenticated:
        return f"user:{user.pk}"
    return f"address:{request.META.get('REMOTE_ADDR', '')}"


async def seconds_until_allowed(request: HttpRequest) -> int:
    """0 when this client may lint now, else how many seconds until its next minute starts.

    A fixed one-minute window per client: simple, and enough to stop a flood.
    """
    now = time.time()
    window = int(now // 60)
    key = f"dockyard:lint-rate:{await client_key(request)}:{window}"
    await cache.aadd(key, 0, timeout=120)
    count = await cache.aincr(key)
    if count <= settings.LINT_REQUESTS_PER_MINUTE:
        return 0
    return max(1, math.ceil((window + 1) * 60 - now))
