"""The `unhealthy` check: a HEALTHCHECK must notice when the app stops answering, not only report "healthy".

A health check that always succeeds (`HEALTHCHECK CMD ["true"]`, or one that only asks whether a process
exists) turns a container healthy just as well as a real one. So the grader starts the image, waits until
it is healthy, then makes the app stop answering and waits for Docker to report it unhealthy.

The app is broken from outside, through the Docker API: the grader writes the exercise's `break_file` into
the running container (no tool of the image runs), and the exercise's app hangs while that file exists. The
grader runs the image's HEALTHCHECK every second, whatever its `--interval`, keeping its `--timeout` and
`--retries`: after the break, `retries` failed probes in a row make the container unhealthy.
"""

from __future__ import annotations

import time

from .context import GradingContext
from .outcome import Outcome, fail, ok
from .runtime import tail

GRADER_INTERVAL = 1
POLL_SECONDS = 0.5
HEALTHY_WITHIN = 30
# Each probe of a broken app may take at most this long in the grader's time budget; a HEALTHCHECK left with
# Docker's default 30 s timeout and no time limit of its own notices a hung app too slowly to pass.
PROBE_ALLOWANCE = 10
MARGIN = 5
LONGEST_WAIT = 60
# This many probes that started after the break and still succeeded prove the check does not ask the app.
BLIND_SUCCESSES = 3
NANOSECONDS = 1_000_000_000
DEFAULT_RETRIES = 3
DEFAULT_TIMEOUT = 30
# 128 + SIGSEGV: busybox 1.35's wget given -T, for one (see sandbox/grading/lint.py).
SEGFAULT_EXIT_CODE = 139


def check_unhealthy(check: dict, context: GradingContext) -> Outcome:
    healthcheck = context.facts["config"].get("healthcheck") or {}
    test = healthcheck.get("Test") or []
    if not test or test[0] == "NONE":
        return fail("the image has no HEALTHCHECK, so Docker cannot notice when the app stops answering.")
    retries = healthcheck.get("Retries") or DEFAULT_RETRIES
    timeout = (healthcheck.get("Timeout") or DEFAULT_TIMEOUT * NANOSECONDS) / NANOSECONDS
    within = check.get("within") or min(
        retries * (GRADER_INTERVAL + min(timeout, PROBE_ALLOWANCE)) + MARGIN, LONGEST_WAIT
    )
    container = context.sandbox.start(context.image, health_interval=GRADER_INTERVAL)
    try:
        problem = _wait_until_healthy(context, container)
        if problem:
            return fail(problem)
        seen = {entry.get("Start") for entry in _health(context, container).get("Log") or []}
        context.sandbox.put_file(container, check["break_file"], b"stopped answering\n")
        broken_at = time.monotonic()
        return _watch_after_break(context, container, seen, broken_at, within, retries, timeout)
    finally:
        context.sandbox.remove(container)


def _health(context: GradingContext, container) -> dict:
    return context.sandbox.state(container).get("Health") or {}


def _wait_until_healthy(context: GradingContext, container) -> str:
    """Wait for the first "healthy"; returns why it never came, or "" once it has."""
    started = time.monotonic()
    status, last = "starting", ""
    while time.monotonic() - started < HEALTHY_WITHIN:
        state = context.sandbox.state(container)
        if not state.get("Running"):
            return (
                f"the container stopped (exit code {state.get('ExitCode')}) before it became healthy; "
                f"its output: {tail(context.sandbox.logs(container))}"
            )
        health = state.get("Health") or {}
        status = health.get("Status", "starting")
        if health.get("Log"):
            last = describe_probe(health["Log"][-1])
        if status == "healthy":
            return ""
        time.sleep(POLL_SECONDS)
    return (
        f"the container never became healthy (still {status} after {HEALTHY_WITHIN} s; "
        f"{last or 'no health check finished'}), so there was no working app to break."
    )


def _watch_after_break(
    context: GradingContext, container, seen: set, broken_at: float, within: float, retries: int, timeout: float
) -> Outcome:
    """After the break: unhealthy in time passes; probes that keep succeeding, or no verdict in time, fail."""
    successes = 0
    last = ""
    while time.monotonic() - broken_at < within:
        health = _health(context, container)
        for entry in health.get("Log") or []:
            if entry.get("Start") in seen or entry.get("End") in (None, "", "0001-01-01T00:00:00Z"):
                continue
            seen.add(entry.get("Start"))
            last = describe_probe(entry)
            successes = successes + 1 if entry.get("ExitCode") == 0 else 0
        if health.get("Status") == "unhealthy":
            seconds = time.monotonic() - broken_at
            return ok(
                f"after the app stopped answering, the container turned unhealthy in {seconds:.1f} s "
                f"({retries} failed checks in a row; {last})."
            )
        if successes >= BLIND_SUCCESSES:
            return fail(
                f"after the app stopped answering, the health check still passed {successes} times in a row "
                f"({last}): it does not find out whether the app answers."
            )
        time.sleep(POLL_SECONDS)
    status = _health(context, container).get("Status", "unknown")
    slow = (
        f" Each check may take up to {timeout:g} s (HEALTHCHECK --timeout), so {retries} failures in a row take "
        "too long: give the check a short time limit."
        if timeout > PROBE_ALLOWANCE
        else ""
    )
    return fail(
        f"the app stopped answering, but after {within:g} s the container was still {status} "
        f"({last or 'no health check finished since'}).{slow}"
    )


def describe_probe(entry: dict) -> str:
    code = entry.get("ExitCode")
    if code == SEGFAULT_EXIT_CODE:
        code = f"{code} (the command crashed with a segmentation fault)"
    # The last line says most (a traceback ends with the error itself).
    lines = [line for line in (entry.get("Output") or "").splitlines() if line.strip()]
    if not lines:
        return f"the last health check exited with {code}"
    return f"the last health check exited with {code}: {tail(lines[-1], 160)}"


HEALTH_CHECKS = {"unhealthy": check_unhealthy}
