"""Runtime checks: containers started from the built image, with network none.

The app's container has no network, so its loopback interface is the only way in. The grader starts its own
probe container (sandbox.catalog.PROBE_IMAGE) in the app container's network namespace and probes from there
with its own python3 and cat: whatever the learner's image holds (a python3, wget or cat that prints a fake
success) takes no part in a verdict. Whether the app would be reachable through a published port is read from
that namespace's /proc/net/tcp: it must listen on all interfaces, not on 127.0.0.1 only.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sandbox.clients import SandboxError
from sandbox.environment import RunResult

from .context import GradingContext
from .outcome import CheckError, Outcome, fail, ok

POLL_SECONDS = 0.5
PROBE_SECONDS = 5
DEFAULT_WITHIN = {"service": 15, "listen": 15, "health": 30, "stop": 5}
# How long a `stop` check waits for the app to be ready before sending the signal.
READY_SECONDS = 15
SETTLE_SECONDS = 2
SHOWN_OUTPUT_CHARS = 300

# Prints the status code on the first line, then the body. Any connection error ends it with a traceback.
PYTHON_PROBE = """\
import sys, urllib.error, urllib.request
try:
    response = urllib.request.urlopen(sys.argv[1], timeout=4)
    status, body = response.status, response.read(65536)
except urllib.error.HTTPError as error:
    status, body = error.code, error.read(65536)
sys.stdout.write(str(status) + "\\n")
sys.stdout.flush()
sys.stdout.buffer.write(body)
"""


def tail(text: str, limit: int = SHOWN_OUTPUT_CHARS) -> str:
    """The end of some output, on one line, for a message."""
    text = " ".join(text.strip().split())
    if not text:
        return "(no output)"
    return f"…{text[-limit:]}" if len(text) > limit else text


def command_for(run: str | list[str] | None) -> list[str] | None:
    if run is None:
        return None
    return ["/bin/sh", "-c", run] if isinstance(run, str) else list(run)


# --- command -------------------------------------------------------------------------------------------------


def check_command(check: dict, context: GradingContext) -> Outcome:
    run = check.get("run")
    shown = f"`{run if isinstance(run, str) else ' '.join(run)}`" if run else "the image's default command"
    timeout = check.get("timeout", context.check_seconds)
    result = context.sandbox.run(context.image, command_for(run), check.get("env"), timeout)
    return judge_run(result, check, shown, timeout)


def judge_run(result: RunResult, check: dict, shown: str, timeout: float, exit_hint: str = "") -> Outcome:
    """The verdict on a container run to its end: in time, in memory, the expected exit code and output.

    `shown` is the command as the learner would type it; `exit_hint` is a sentence added when the exit code
    is wrong, for checks that know a likely cause.
    """
    output = result.stdout + result.stderr
    if result.timed_out:
        return fail(f"{shown} was still running after {timeout:g} s; output: {tail(output)}")
    if result.oom_killed:
        return fail(f"{shown} ran out of memory and was killed.")
    expected = check.get("exit_code", 0)
    if result.exit_code != expected:
        if result.exit_code in (126, 127):
            return fail(f"{shown} could not be started (exit code {result.exit_code}): {tail(output)}")
        message = f"{shown} exited with code {result.exit_code}, expected {expected}; output: {tail(output)}"
        return fail(f"{message}.{exit_hint}" if exit_hint else message)
    for stream in ("stdout", "stderr"):
        pattern = check.get(stream)
        text = getattr(result, stream)
        if pattern and not re.search(pattern, text, re.MULTILINE):
            return fail(f"the {stream} of {shown} does not match `{pattern}`; it was: {tail(text)}")
    return ok(f"{shown} exited with code {result.exit_code}; output: {tail(output, 160)}")


# --- Probing the app with the grader's own tools ------------------------------------------------------------------


@dataclass
class ProbeAnswer:
    status: int | None  # None when nothing answered
    body: str
    problem: str = ""  # why nothing answered, for the message


class Probe:
    """The grader's probe container in the app container's network namespace, started on first use.

    Use it in a `with` block: it is removed at the end (and with the environment in any case).
    """

    def __init__(self, context: GradingContext, container):
        self.sandbox = context.sandbox
        self.container = container
        self.probe = None

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.probe is not None:
            self.sandbox.remove(self.probe)

    def get(self, port: int, path: str) -> ProbeAnswer:
        """GET http://127.0.0.1:port/path on the app's loopback, with the probe's python3."""
        probe = self._started()
        if probe is None:
            return ProbeAnswer(None, "", "the container stopped")
        url = f"http://127.0.0.1:{port}{path}"
        code, output = self.sandbox.exec(probe, ["python3", "-c", PYTHON_PROBE, url], timeout=PROBE_SECONDS)
        if code is None:
            return ProbeAnswer(None, "", f"the request got no answer within {PROBE_SECONDS} s")
        first, _, body = output.partition("\n")
        if code == 0 and first.strip().isdigit():
            return ProbeAnswer(int(first), body)
        lines = [line for line in output.strip().splitlines() if line.strip()]
        return ProbeAnswer(None, "", lines[-1] if lines else f"exit code {code}")

    def tcp_table(self) -> str:
        """/proc/net/tcp and /proc/net/tcp6 of the app's network namespace, read by the probe's cat."""
        probe = self._started()
        if probe is None:
            return ""
        code, output = self.sandbox.exec(probe, ["cat", "/proc/net/tcp", "/proc/net/tcp6"], PROBE_SECONDS)
        # cat exits 1 when IPv6 is off and /proc/net/tcp6 is missing; the IPv4 table is still there.
        if code not in (0, 1, None):
            raise CheckError(f"could not read /proc/net/tcp in the container's network: {tail(output, 120)}")
        return output

    def _started(self):
        """The probe container, started on first use; None when the app's container stopped before that."""
        if self.probe is None:
            try:
                self.probe = self.sandbox.start_probe(self.container)
            except SandboxError:
                # A container that has stopped has no network namespace left to join; the caller's next look
                # at the container says why it stopped.
                if not self.sandbox.state(self.container).get("Running"):
                    return None
                raise
        return self.probe


def _still_running(context: GradingContext, container) -> str:
    """ "" while the container runs, else why it stopped (for the message)."""
    state = context.sandbox.state(container)
    if state.get("Running"):
        return ""
    code = state.get("ExitCode")
    return f"the container stopped by itself (exit code {code}); its output: {tail(context.sandbox.logs(container))}"


def check_service(check: dict, context: GradingContext) -> Outcome:
    container = context.sandbox.start(context.image)
    try:
        with Probe(context, container) as probe:
            return _poll_service(check, context, container, probe)
    finally:
        context.sandbox.remove(container)


def _poll_service(check: dict, context: GradingContext, container, probe: Probe) -> Outcome:
    port, path = check["port"], check.get("path", "/")
    want = check.get("status", 200)
    within = check.get("within", DEFAULT_WITHIN["service"])
    started = time.monotonic()
    answer = ProbeAnswer(None, "", "nothing was tried yet")
    while time.monotonic() - started < within:
        stopped = _still_running(context, container)
        if stopped:
            return fail(f"GET {path} on port {port} got no answer: {stopped}")
        answer = probe.get(port, path)
        if answer.status is not None:
            return _judge_answer(check, answer, want, time.monotonic() - started)
        time.sleep(POLL_SECONDS)
    logs = tail(context.sandbox.logs(container))
    return fail(
        f"nothing answered GET {path} on 127.0.0.1:{port} inside the container within {within:g} s "
        f"(last try: {answer.problem}); the app's output: {logs}"
    )


def _judge_answer(check: dict, answer: ProbeAnswer, want: int, seconds: float) -> Outcome:
    port, path = check["port"], check.get("path", "/")
    if answer.status != want:
        return fail(f"GET {path} on port {port} answered {answer.status}, expected {want}: {tail(answer.body, 120)}")
    body = check.get("body")
    if body and not re.search(body, answer.body):
        return fail(
            f"GET {path} on port {port} answered {want}, but the body does not match `{body}`: {tail(answer.body, 120)}"
        )
    return ok(f"GET {path} on port {port} answered {answer.status} after {seconds:.1f} s: {tail(answer.body, 80)}")


# --- listen -----------------------------------------------------------------------------------------------------


def listening_addresses(proc_net: str, port: int) -> list[str]:
    """The local addresses in LISTEN state on `port`, from /proc/net/tcp and /proc/net/tcp6 text."""
    found = []
    for line in proc_net.splitlines():
        fields = line.split()
        if len(fields) < 4 or ":" not in fields[1] or fields[3] != "0A":  # 0A is TCP_LISTEN
            continue
        address, _, port_hex = fields[1].rpartition(":")
        if int(port_hex, 16) == port:
            found.append(_address(address))
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:
        # IPv4 in the kernel's (little-endian) byte order.
        return ".".join(str(int(hex_address[i : i + 2], 16)) for i in (6, 4, 2, 0))
    if set(hex_address) == {"0"}:
        return "::"
    if hex_address.upper() == "00000000000000000000000001000000":
        return "::1"
    if hex_address.upper().startswith("0000000000000000FFFF0000"):
        return "::ffff:" + _address(hex_address[24:])
    return hex_address


def check_listen(check: dict, context: GradingContext) -> Outcome:
    port = check["port"]
    within = check.get("within", DEFAULT_WITHIN["listen"])
    container = context.sandbox.start(context.image)
    try:
        with Probe(context, container) as probe:
            started = time.monotonic()
            while time.monotonic() - started < within:
                stopped = _still_running(context, container)
                if stopped:
                    return fail(f"nothing listens on port {port}: {stopped}")
                addresses = listening_addresses(probe.tcp_table(), port)
                if addresses:
                    return _judge_addresses(port, addresses)
                time.sleep(POLL_SECONDS)
        return fail(
            f"nothing listens on port {port} within {within:g} s; the app's output: "
            f"{tail(context.sandbox.logs(container))}"
        )
    finally:
        context.sandbox.remove(container)


def _judge_addresses(port: int, addresses: list[str]) -> Outcome:
    shown = ", ".join(f"{address}:{port}" if ":" not in address else f"[{address}]:{port}" for address in addresses)
    if any(address in ("0.0.0.0", "::") for address in addresses):
        return ok(f"the app listens on {shown}, all interfaces, so a published port can reach it.")
    return fail(
        f"the app listens on {shown} only: the container's loopback interface, which a published port "
        "(`docker run -p`) cannot reach. Bind to 0.0.0.0."
    )


# --- health -------------------------------------------------------------------------------------------------------


def check_health(check: dict, context: GradingContext) -> Outcome:
    healthcheck = context.facts["config"].get("healthcheck") or {}
    test = healthcheck.get("Test") or []
    if not test or test[0] == "NONE":
        return fail("the image has no HEALTHCHECK, so Docker never reports it healthy.")
    within = check.get("within", DEFAULT_WITHIN["health"])
    # The grader probes every second, whatever --interval says, so a long interval does not slow grading.
    container = context.sandbox.start(context.image, health_interval=1)
    try:
        started = time.monotonic()
        status, last = "starting", ""
        while time.monotonic() - started < within:
            state = context.sandbox.state(container)
            if not state.get("Running"):
                return fail(
                    f"the container stopped (exit code {state.get('ExitCode')}) before it became healthy; "
                    f"its output: {tail(context.sandbox.logs(container))}"
                )
            health = state.get("Health") or {}
            status = health.get("Status", "starting")
            if health.get("Log"):
                last = _describe_probe(health["Log"][-1])
            if status == "healthy":
                return ok(f"the container became healthy after {time.monotonic() - started:.1f} s ({last}).")
            time.sleep(POLL_SECONDS)
        return fail(
            f"the container was still {status} after {within:g} s; {last or 'the health check never finished'}."
        )
    finally:
        context.sandbox.remove(container)


def _describe_probe(entry: dict) -> str:
    code = entry.get("ExitCode")
    output = (entry.get("Output") or "").strip()
    if not output:
        return f"the last health check exited with {code}"
    return f"the last health check exited with {code}: {tail(output, 160)}"


# --- stop ---------------------------------------------------------------------------------------------------------


def check_stop(check: dict, context: GradingContext) -> Outcome:
    within = check.get("within", DEFAULT_WITHIN["stop"])
    container = context.sandbox.start(context.image)
    try:
        with Probe(context, container) as probe:
            not_ready = _wait_until_ready(check, context, container, probe)
        if not_ready:
            return fail(not_ready)
        pid1 = _pid1_command(context, container)
        seconds = context.sandbox.stop(container, within)
        state = context.sandbox.state(container)
        code = state.get("ExitCode")
        if code == 137 or seconds >= within + 1:
            return fail(
                f"`docker stop` sent SIGTERM, waited {within:g} s, then killed the container (exit code {code}): "
                f"the signal never reached your app. PID 1 is {pid1}."
            )
        return ok(f"`docker stop` ended the container in {seconds:.1f} s (exit code {code}); PID 1 was {pid1}.")
    finally:
        context.sandbox.remove(container)


def _wait_until_ready(check: dict, context: GradingContext, container, probe: Probe) -> str:
    """Give the app time to start before it is stopped; returns a problem, or "" when it is ready."""
    started = time.monotonic()
    if "port" not in check and "ready" not in check:
        time.sleep(SETTLE_SECONDS)
        return _still_running(context, container)
    while time.monotonic() - started < READY_SECONDS:
        stopped = _still_running(context, container)
        if stopped:
            return stopped
        if "port" in check and probe.get(check["port"], "/").status is not None:
            return ""
        if "ready" in check and re.search(check["ready"], context.sandbox.logs(container), re.MULTILINE):
            return ""
        time.sleep(POLL_SECONDS)
    return f"the app did not get ready within {READY_SECONDS} s; its output: {tail(context.sandbox.logs(container))}"


def _pid1_command(context: GradingContext, container) -> str:
    command = context.sandbox.main_command(container)
    return f"`{command[:120]}`" if command else "unknown"


RUNTIME_CHECKS = {
    "command": check_command,
    "service": check_service,
    "listen": check_listen,
    "health": check_health,
    "stop": check_stop,
}
