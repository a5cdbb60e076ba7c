"""BuildKit through the docker CLI: running a build, reading its plain progress output, and saying why it failed.

The Python docker SDK cannot drive BuildKit, so builds run the BuildKit-capable docker CLI as a subprocess
with `--progress=plain`. This module runs that subprocess with a deadline (`run_streaming`), cuts its output
into bounded lines (`BuildStream`), follows the steps as BuildKit reports them (`ProgressParser`), and turns
the end of a build into a `BuildResult` whose message a learner can read (`build_result`).

Facts this module relies on, checked against the sandbox's Docker 20.10.24 with BuildKit (see
docs/architecture.md, "Sandbox facts"):
- Killing the docker CLI (SIGKILL) cancels the BuildKit session and the daemon kills the RUN step's
  processes within about 0.1 s, even ones that ignore SIGTERM. The caller still checks the daemon's
  cgroup afterwards and kills what is left (sandbox/cleanup.py), in case a daemon behaves otherwise.
- A failed RUN step ends with `executor failed running [/bin/sh -c exit 3]: exit code: 3`.
- The out-of-memory killer gives exit code 137. The cgroup's memory.failcnt and oom_control counters stayed
  at 0 after a real OOM kill on this kernel, so they are not used to confirm it.
- A fork refused by pids.max prints `can't fork: Resource temporarily unavailable` (busybox sh) or
  `fork: retry` / `Resource temporarily unavailable` (bash) in the step's output.
- A full data root prints `No space left on device` in the step's output.
- Dockerfile errors come as `dockerfile parse error line 3: unknown instruction: FOO`.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from .cgroups import DaemonLimits
from .clients import UNAVAILABLE_MESSAGE

TRUNCATED_MARK = "[output truncated]"
# One line of build output is cut into pieces of at most this size, so a line without an end cannot
# grow the worker's memory.
MAX_LINE_BYTES = 8 * 1024
# The last lines of build output kept for explaining a failure (BuildKit prints the error at the end).
TAIL_LINES = 40
DAEMON_GONE_PATTERNS = (
    "cannot connect to the docker daemon",
    "error during connect",
    "error reading from server: eof",
    "code = unavailable",
    "transport is closing",
)
FORK_FAILURE_PATTERNS = ("can't fork", "cannot fork", "resource temporarily unavailable", "fork: retry")
NO_SPACE_PATTERN = "no space left on device"
STEP_HEADER = re.compile(r"^#(\d+) \[(?:(\S+) )?(\d+)/(\d+)\] (.*)$")
VERTEX_LINE = re.compile(r"^#(\d+) (.*)$")
# Lines under a vertex that are not its name: a digest, or timed output (`#5 0.075 hello`).
VERTEX_DETAIL = re.compile(r"^(sha256:[0-9a-f]+|\d+\.\d+ .*|\d+\.\d+)$")
STEP_PREFIX = re.compile(r"^\[[^\]]*\] ")
VERTEX_STATUS = re.compile(r"^#(\d+) (CACHED|CANCELED.*|DONE (\d+(?:\.\d+)?)s|ERROR:? ?(.*))$")
EXIT_CODE = re.compile(r"exit code: (\d+)")
PARSE_ERROR = re.compile(r"dockerfile parse error (?:on )?line (\d+): (.+)")
DOCKERFILE_LINE = re.compile(r"^Dockerfile:(\d+)")
# How long the build may print nothing before the caller is told it is quiet (see BuildEnvironment.on_quiet).
QUIET_SECONDS = 0.2
LLB_ERROR = re.compile(r"failed to create LLB definition: (.+)")


@dataclass
class StepInfo:
    """One Dockerfile step as BuildKit reported it in its plain progress output.

    vertex: BuildKit's number for the step (`#5`). stage: the stage name BuildKit printed (`builder`,
    `stage-1`) or None for a one-stage build. index/total: `[2/3]`. instruction: the instruction as
    BuildKit shows it (`RUN echo hi`, `FROM docker.io/library/busybox:latest`).
    status: "running", "done", "cached", "error" or "canceled".
    """

    vertex: int
    stage: str | None
    index: int
    total: int
    instruction: str
    status: str = "running"
    duration: float | None = None
    error: str | None = None

    @property
    def cached(self) -> bool:
        return self.status == "cached"


@dataclass
class BuildResult:
    """The outcome of one build. `reason` is "ok" or why it failed; `message` says it in words.

    Reasons: ok, refused, base_image_missing, dockerfile_error, step_failed, out_of_memory,
    process_limit, timeout, disk_full, daemon_unavailable, build_failed.
    """

    ok: bool
    reason: str
    message: str
    image_id: str | None = None
    steps: list[StepInfo] = field(default_factory=list)
    duration: float = 0.0
    exit_code: int | None = None
    truncated: bool = False
    log_bytes: int = 0


def run_streaming(
    command: list[str],
    env: dict[str, str],
    timeout: float,
    on_chunk: Callable[[bytes], None],
    on_quiet: Callable[[], None] | None = None,
    on_start: Callable[[subprocess.Popen], None] | None = None,
    cwd: str | None = None,
) -> tuple[int | None, bool]:
    """Run a command, passing its output to on_chunk as it comes, for at most `timeout` seconds.

    The command runs in its own process group (in the folder `cwd`, when given); on timeout (or any error here)
    the whole group is killed. on_start receives the process, so another thread can stop it. Returns (exit code
    or None when killed, whether it timed out).
    """
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    if on_start is not None:
        on_start(process)
    deadline = time.monotonic() + timeout
    try:
        timed_out = _pump(process, deadline, on_chunk, on_quiet)
        if timed_out:
            kill_group(process)
            return None, True
        try:
            return process.wait(timeout=max(deadline - time.monotonic(), 1)), False
        except subprocess.TimeoutExpired:
            kill_group(process)
            return None, True
    finally:
        if process.poll() is None:
            kill_group(process)
        if process.stdout is not None:
            process.stdout.close()


def _pump(
    process: subprocess.Popen,
    deadline: float,
    on_chunk: Callable[[bytes], None],
    on_quiet: Callable[[], None] | None = None,
) -> bool:
    """Read the process's output until it ends (False) or the deadline passes (True).

    on_quiet is called whenever no output has come for QUIET_SECONDS.
    """
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(descriptor, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            if not selector.select(timeout=min(remaining, QUIET_SECONDS)):
                if on_quiet is not None:
                    on_quiet()
                continue
            chunk = os.read(descriptor, 64 * 1024)
            if not chunk:
                return False
            on_chunk(chunk)


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


class BuildStream:
    """Splits build output into lines, forwards them up to the byte limit, and parses the progress.

    Memory stays bounded whatever the build prints: lines are cut at MAX_LINE_BYTES, only the last
    TAIL_LINES lines are kept, and past the limit lines are parsed and dropped.
    """

    def __init__(self, on_log: Callable[[str], None], limit: int) -> None:
        self.on_log = on_log
        self.limit = limit
        self.sent_bytes = 0
        self.truncated = False
        self.pending = bytearray()
        self.progress = ProgressParser()

    def feed(self, chunk: bytes) -> None:
        self.pending += chunk
        while True:
            end = self.pending.find(b"\n")
            if end == -1 and len(self.pending) < MAX_LINE_BYTES:
                return
            cut = end if end != -1 and end < MAX_LINE_BYTES else MAX_LINE_BYTES
            line = bytes(self.pending[:cut])
            del self.pending[: cut + 1 if cut == end else cut]
            self._line(line)

    def finish(self) -> None:
        if self.pending:
            self._line(bytes(self.pending))
            self.pending.clear()

    def _line(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        self.progress.feed(line)
        if self.truncated:
            return
        size = len(raw) + 1
        if self.sent_bytes + size > self.limit:
            self.truncated = True
            self.on_log(TRUNCATED_MARK)
            return
        self.sent_bytes += size
        self.on_log(line)


class ProgressParser:
    """Reads BuildKit's `--progress=plain` output: steps, their status, and signs of known failures."""

    def __init__(self) -> None:
        self.vertices: dict[int, str] = {}
        self.steps: dict[int, StepInfo] = {}
        self.stage_order: dict[str | None, int] = {}
        self.errors: dict[int, str] = {}
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.fork_failed = False
        self.no_space = False

    def feed(self, line: str) -> None:
        lowered = line.lower()
        if NO_SPACE_PATTERN in lowered:
            self.no_space = True
        if any(pattern in lowered for pattern in FORK_FAILURE_PATTERNS):
            self.fork_failed = True
        if not line.startswith("#"):
            if line.strip():
                self.tail.append(line[:2000])
            return
        self._vertex_line(line)

    def _vertex_line(self, line: str) -> None:
        status = VERTEX_STATUS.match(line)
        if status:
            self._status(int(status.group(1)), status)
            return
        step = STEP_HEADER.match(line)
        if step and int(step.group(1)) not in self.steps:
            vertex = int(step.group(1))
            self.stage_order.setdefault(step.group(2), len(self.stage_order))
            self.steps[vertex] = StepInfo(vertex, step.group(2), int(step.group(3)), int(step.group(4)), step.group(5))
        # BuildKit prints a vertex's name on its first line; later lines carry its output.
        header = VERTEX_LINE.match(line)
        if header and int(header.group(1)) not in self.vertices and not VERTEX_DETAIL.match(header.group(2)):
            self.vertices[int(header.group(1))] = STEP_PREFIX.sub("", header.group(2))

    def _status(self, vertex: int, match: re.Match[str]) -> None:
        word = match.group(2)
        step = self.steps.get(vertex)
        if word.startswith("ERROR"):
            self.errors.setdefault(vertex, (match.group(4) or "")[:1000])
        if step is None:
            return
        if word == "CACHED":
            step.status = "cached"
        elif word.startswith("DONE"):
            step.status = "done"
            step.duration = float(match.group(3))
        elif word.startswith("CANCELED"):
            step.status = "canceled"
        else:
            step.status = "error"
            step.error = self.errors[vertex]

    def ordered_steps(self) -> list[StepInfo]:
        """Steps in Dockerfile order: stages as BuildKit first showed them, then by step number."""
        return sorted(self.steps.values(), key=lambda step: (self.stage_order[step.stage], step.index))

    def failed_vertex(self) -> tuple[str, str] | None:
        """The first vertex that reported an error: (its name, the error)."""
        for vertex, error in self.errors.items():
            return self.vertices.get(vertex, f"#{vertex}"), error
        return None


def build_result(
    stream: BuildStream,
    returncode: int | None,
    timed_out: bool,
    image_id: str | None,
    duration: float,
    limits: DaemonLimits,
) -> BuildResult:
    progress = stream.progress
    reason, message, exit_code = classify(progress, returncode, timed_out, image_id, duration, limits)
    return BuildResult(
        ok=reason == "ok",
        reason=reason,
        message=message,
        image_id=image_id if reason == "ok" else None,
        steps=progress.ordered_steps(),
        duration=round(duration, 3),
        exit_code=exit_code,
        truncated=stream.truncated,
        log_bytes=stream.sent_bytes,
    )


def classify(
    progress: ProgressParser,
    returncode: int | None,
    timed_out: bool,
    image_id: str | None,
    duration: float,
    limits: DaemonLimits,
) -> tuple[str, str, int | None]:
    """Decide why a build ended and say it in words: (reason, message, exit code of the failed step)."""
    if timed_out:
        return "timeout", _timeout_message(), None
    if returncode == 0 and image_id:
        return "ok", f"The image was built in {duration:.1f} s.", None
    tail = "\n".join(progress.tail)
    lowered = tail.lower()
    if any(pattern in lowered for pattern in DAEMON_GONE_PATTERNS):
        return "daemon_unavailable", UNAVAILABLE_MESSAGE, None
    dockerfile_error = _dockerfile_error(tail)
    if dockerfile_error:
        return "dockerfile_error", dockerfile_error, None
    failed = progress.failed_vertex()
    step = f"`{failed[0]}`" if failed else "a step"
    error = failed[1] if failed else (progress.tail[-1] if progress.tail else "")
    code_match = EXIT_CODE.search(error) or EXIT_CODE.search(tail)
    exit_code = int(code_match.group(1)) if code_match else None
    if progress.no_space or NO_SPACE_PATTERN in lowered:
        return "disk_full", _disk_full_message(step), exit_code
    if exit_code == 137:
        return "out_of_memory", _memory_message(step, limits), exit_code
    if progress.fork_failed:
        return "process_limit", _process_message(step, limits), exit_code
    if exit_code is not None:
        return "step_failed", _exit_message(step, exit_code), exit_code
    if failed:
        return "step_failed", _step_error_message(failed[0], failed[1]), None
    last = progress.tail[-1] if progress.tail else "the builder gave no reason"
    return "build_failed", f"The build failed: {last[:500]}", None


def _dockerfile_error(tail: str) -> str | None:
    match = PARSE_ERROR.search(tail)
    if match:
        return f"Dockerfile line {match.group(1)}: {match.group(2).strip()}"
    line = next((m for m in map(DOCKERFILE_LINE.match, tail.splitlines()) if m), None)
    llb = LLB_ERROR.search(tail)
    if llb:
        prefix = f"Dockerfile line {line.group(1)}: " if line else "The Dockerfile has a mistake: "
        return prefix + llb.group(1).strip()
    return None


def _timeout_message() -> str:
    return (
        f"The build took longer than {settings.BUILD_TIMEOUT_SECONDS} seconds and was stopped. Look for a step "
        "that never finishes: a server started with RUN, an endless loop, or a command waiting for input."
    )


def _memory_message(step: str, limits: DaemonLimits) -> str:
    return (
        f"The step {step} ran out of memory (limit {limits.memory_mb} MiB) and was killed (exit code 137). "
        "Make that step use less memory, for example by installing fewer things at once."
    )


def _process_message(step: str, limits: DaemonLimits) -> str:
    return (
        f"The step {step} started too many processes and could not start more (the sandbox allows "
        f"{limits.pids} processes). Look for a command that starts processes in a loop."
    )


def _disk_full_message(step: str) -> str:
    return (
        f"The build ran out of disk space in {step} (no space left on device). Look for a step that writes "
        "very large files, and delete temporary files in the same RUN that creates them."
    )


def _exit_message(step: str, exit_code: int) -> str:
    hints = {
        127: " Exit code 127 means a command was not found: is it installed in the image, and spelled right?",
        126: " Exit code 126 means a file could not be run: is it executable?",
    }
    return f"The step {step} failed with exit code {exit_code}.{hints.get(exit_code, '')}"


def _step_error_message(step: str, error: str) -> str:
    message = f"The step `{step}` failed: {error.rstrip('.')}."
    if "not found" in error and step.split(" ", 1)[0] in ("COPY", "ADD"):
        message += " Is that file part of your submission (and not excluded by .dockerignore)?"
    return message
