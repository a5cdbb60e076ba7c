"""Build and run a learner's work in one sandbox daemon (DESIGN.md, "Sandbox daemons" and "Limits").

`BuildEnvironment` is a context manager around one submission's Docker work on one daemon, modelled on
Read the Docs' DockerBuildEnvironment:

    with BuildEnvironment(docker_host, submission.pk, on_log=publish_line) as env:
        result = env.build(files)
        if result.ok:
            facts = env.image_facts(result.image_id)
            run = env.run_container(result.image_id, ["python", "-V"], timeout=30)

Builds go through the BuildKit-capable docker CLI as a subprocess (the Python SDK cannot drive BuildKit);
everything else uses the docker SDK. Leaving the block removes every container and image labelled with the
submission id, whatever happened inside it. Docker failures become `SandboxError`s whose message a learner
can read; a failed build is not an exception but a `BuildResult` with a reason and a message.

Facts this module relies on, checked against the sandbox's Docker 20.10.24 with BuildKit:
- Killing the docker CLI (SIGKILL) cancels the BuildKit session and the daemon kills the RUN step's
  processes within about 0.1 s, even ones that ignore SIGTERM. The runner still checks the daemon's
  cgroup afterwards and kills what is left, in case a daemon behaves otherwise.
- A failed RUN step ends with `executor failed running [/bin/sh -c exit 3]: exit code: 3`.
- The out-of-memory killer gives exit code 137. The cgroup's memory.failcnt and oom_control counters stayed
  at 0 after a real OOM kill on this kernel, so they are not used to confirm it.
- A fork refused by pids.max prints `can't fork: Resource temporarily unavailable` (busybox sh) or
  `fork: retry` / `Resource temporarily unavailable` (bash) in the step's output.
- A full data root prints `No space left on device` in the step's output.
- Dockerfile errors come as `dockerfile parse error line 3: unknown instruction: FOO`.
"""

from __future__ import annotations

import logging
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
from django.conf import settings
from docker.models.containers import Container
from docker.types import LogConfig

from .dockerfile import Dockerfile, DockerfileSyntaxError, parse_dockerfile
from .files import SubmissionRejected, write_context

logger = logging.getLogger(__name__)

LABEL = "dockyard.submission"
TRUNCATED_MARK = "[output truncated]"
API_TIMEOUT_SECONDS = 60
PING_TIMEOUT_SECONDS = 10
# One line of build output is cut into pieces of at most this size, so a line without an end cannot
# grow the worker's memory.
MAX_LINE_BYTES = 8 * 1024
# The last lines of build output kept for explaining a failure (BuildKit prints the error at the end).
TAIL_LINES = 40
# Output kept from one command run in a container (tests read it; the log is not streamed).
COMMAND_OUTPUT_LIMIT_BYTES = 64 * 1024
# Each container gets its own limits, well inside the daemon's cgroup limits.
CONTAINER_MEMORY_MB = 512
CONTAINER_PIDS = 256
# How long the daemon may take to end a cancelled build's processes before the runner kills them.
BUILD_STOP_GRACE_SECONDS = 10
CGROUP_ROOT = Path("/sys/fs/cgroup")
SETPRIV = "/usr/bin/setpriv"

UNAVAILABLE_MESSAGE = "The build sandbox is not answering; try again in a minute."
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


class SandboxError(Exception):
    """Docker work that could not be done. `reason` is a short code, `message` is for the learner."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


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


@dataclass
class RunResult:
    """A command that ran to its end in a fresh container."""

    exit_code: int
    output: str
    truncated: bool = False
    oom_killed: bool = False


@dataclass(frozen=True)
class DaemonLimits:
    """The limits that bind a daemon's builds: read from its cgroup when local, else from the settings."""

    memory_mb: int
    pids: int
    cgroup: str | None


class BuildEnvironment:
    """One submission's Docker work on one sandbox daemon. Use it as a context manager.

    on_log receives each line of build output as it comes, without its newline, raw (BuildKit's plain
    progress; escape it before showing it). After BUILD_LOG_LIMIT_BYTES it receives "[output truncated]"
    once and nothing more from that build.
    """

    def __init__(
        self,
        docker_host: str,
        submission_id: int | str,
        on_log: Callable[[str], None],
        on_quiet: Callable[[], None] | None = None,
    ) -> None:
        self.docker_host = docker_host
        self.submission_id = str(submission_id)
        self.on_log = on_log
        # Called when the build has printed nothing for a moment, so a caller that batches lines can send
        # what it holds instead of keeping the last lines of a slow step back until the next output.
        self.on_quiet = on_quiet
        self.client: docker.DockerClient | None = None
        self.workdir: Path | None = None
        self.builds = 0

    def __enter__(self) -> BuildEnvironment:
        self.client = make_client(self.docker_host)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"dockyard-sub-{_slug(self.submission_id)}-"))
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self.client is not None:
                remove_labelled(self.client, f"{LABEL}={self.submission_id}")
        finally:
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
            if self.client is not None:
                self.client.close()

    @property
    def label(self) -> dict[str, str]:
        return {LABEL: self.submission_id}

    # --- Building ---------------------------------------------------------------------------------------

    def build(self, files: dict[str, bytes], tag_suffix: str = "") -> BuildResult:
        """Build the files (which must contain a Dockerfile) with BuildKit, streaming output to on_log."""
        started = time.monotonic()
        refused = self._refuse_before_build(files)
        if refused is not None:
            return refused
        self.builds += 1
        build_dir = self._workdir() / f"build-{self.builds}"
        build_dir.mkdir()
        try:
            try:
                context = write_context(_as_bytes(files), build_dir / "context")
            except SubmissionRejected as error:
                return BuildResult(False, "refused", error.message)
            iidfile = build_dir / "image-id"
            command = self._build_command(context, iidfile, tag_suffix)
            stream = _BuildStream(self.on_log, settings.BUILD_LOG_LIMIT_BYTES)
            timeout = settings.BUILD_TIMEOUT_SECONDS
            returncode, timed_out = _run_streaming(
                command, self._cli_env(build_dir), timeout, stream.feed, self.on_quiet
            )
            stream.finish()
            if timed_out:
                stop_leftover_build(self.docker_host)
            image_id = _read_text(iidfile)
        finally:
            shutil.rmtree(build_dir, ignore_errors=True)
        duration = time.monotonic() - started
        result = _build_result(stream, returncode, timed_out, image_id, duration, daemon_limits(self.docker_host))
        # A daemon that dies mid-build leaves the 20.10 CLI saying only that it got no image ID.
        if result.reason == "build_failed" and not self._answers():
            result.reason, result.message = "daemon_unavailable", UNAVAILABLE_MESSAGE
        return result

    def _answers(self) -> bool:
        try:
            return bool(self._client().ping())
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return False

    def _refuse_before_build(self, files: dict[str, bytes]) -> BuildResult | None:
        # The security rules are checked here too, so no caller can build a Dockerfile that skipped them.
        from .catalog import catalog_names
        from .policy import check_dockerfile

        text = _as_bytes(files).get("Dockerfile", b"").decode("utf-8", errors="replace")
        try:
            check_dockerfile(text, catalog_names())
        except SubmissionRejected as error:
            return BuildResult(False, "refused", error.message)
        missing = self._missing_base_images(text)
        if missing:
            return BuildResult(
                False,
                "base_image_missing",
                f"The base image {missing} is not loaded in this sandbox. This is a problem on our side, not "
                "in your Dockerfile; please tell your instructor.",
            )
        return None

    def _missing_base_images(self, text: str) -> str | None:
        # An image the daemon does not have would make BuildKit try a registry, and the sandbox has no
        # network: find that out here and say so plainly instead.
        try:
            dockerfile = parse_dockerfile(text)
        except DockerfileSyntaxError:
            return None
        return next((name for name in _images_used(dockerfile) if not self._has_image(name)), None)

    def _has_image(self, name: str) -> bool:
        with translate_docker_errors(f"look up the image {name}"):
            try:
                self._client().images.get(name)
            except docker.errors.ImageNotFound:
                return False
        return True

    def _build_command(self, context: Path, iidfile: Path, tag_suffix: str) -> list[str]:
        command = [
            settings.DOCKER_CLI,
            "--host",
            self.docker_host,
            "build",
            "--network",
            "none",
            "--progress=plain",
            "--label",
            f"{LABEL}={self.submission_id}",
            "--tag",
            image_tag(self.submission_id, tag_suffix),
            "--iidfile",
            str(iidfile),
            str(context),
        ]
        # If the worker dies (for example Celery's hard time limit kills it), the kernel kills the CLI too,
        # which cancels the build on the daemon instead of leaving it running there.
        if os.path.exists(SETPRIV):
            command = [SETPRIV, "--pdeathsig", "KILL", "--", *command]
        return command

    def _cli_env(self, build_dir: Path) -> dict[str, str]:
        # A private HOME and DOCKER_CONFIG keep the host's docker configuration (contexts, credential
        # helpers, a default host) out of the build. TLS settings for a remote daemon are passed on.
        config = build_dir / "docker-config"
        config.mkdir()
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(build_dir),
            "DOCKER_CONFIG": str(config),
            "DOCKER_BUILDKIT": "1",
            "DOCKER_HOST": self.docker_host,
            "LANG": "C.UTF-8",
        }
        for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        return env

    # --- Images and containers --------------------------------------------------------------------------

    def image_facts(self, image: str) -> dict[str, Any]:
        """Size, layers and configuration of an image, for grading and for showing the learner.

        `layers` runs from the base image's layers to the last instruction. `empty_layer` is True for
        history entries that add no filesystem layer (ENV, CMD, ...); the daemon's history API does not
        say so directly, so it is inferred from the size and the instruction. `layer_count` is the exact
        number of filesystem layers.
        """
        with translate_docker_errors(f"inspect the image {image}"):
            found = self._client().images.get(image)
            history = found.history()
        attrs = found.attrs
        config = attrs.get("Config") or {}
        layers = [_layer_fact(entry) for entry in reversed(history)]
        return {
            "id": found.id,
            "size": attrs.get("Size", 0),
            "layer_count": len((attrs.get("RootFS") or {}).get("Layers") or []),
            "layers": layers,
            "config": {
                "user": config.get("User") or "",
                "exposed_ports": sorted((config.get("ExposedPorts") or {}).keys()),
                "env": _env_dict(config.get("Env") or []),
                "workdir": config.get("WorkingDir") or "",
                "cmd": config.get("Cmd"),
                "entrypoint": config.get("Entrypoint"),
                "healthcheck": config.get("Healthcheck"),
                "labels": config.get("Labels") or {},
            },
        }

    def run_container(
        self,
        image: str,
        command: list[str] | str | None = None,
        *,
        detach: bool = False,
        environment: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> RunResult | Container:
        """Run `command` in a new container of `image`, with no network and the per-container limits.

        detach=False waits for the command to end and returns a RunResult (the container is removed).
        detach=True returns the started Container; it is removed when the environment is left.
        Raises SandboxError("timeout", ...) when the command runs longer than `timeout` seconds.
        """
        timeout = timeout or settings.CHECK_TIMEOUT_SECONDS
        shown = _shown_command(command)
        container = self.create_container(image, command, environment=environment)
        with translate_docker_errors(f"start a container from {image}"):
            container.start()
        if detach:
            return container
        try:
            return self._wait(container, timeout, shown)
        finally:
            with translate_docker_errors("remove a finished container"):
                container.remove(force=True, v=True)

    def create_container(
        self,
        image: str,
        command: list[str] | str | None = None,
        *,
        environment: dict[str, str] | None = None,
        entrypoint: list[str] | None = None,
        healthcheck: dict[str, Any] | None = None,
    ) -> Container:
        """Create (not start) a container with no network, the per-container limits and this submission's label.

        entrypoint=[""] runs `command` exactly as given, like `docker run --entrypoint ""`; healthcheck
        overrides parts of the image's HEALTHCHECK (the daemon keeps the rest).
        """
        options = self._container_options(environment)
        if entrypoint is not None:
            options["entrypoint"] = entrypoint
        if healthcheck is not None:
            options["healthcheck"] = healthcheck
        with translate_docker_errors(f"create a container from {image[:19]}"):
            return self._client().containers.create(image, command, **options)

    def _container_options(self, environment: dict[str, str] | None) -> dict[str, Any]:
        memory = f"{CONTAINER_MEMORY_MB}m"
        return {
            "environment": environment or {},
            "labels": self.label,
            "network_mode": "none",
            "privileged": False,
            "mem_limit": memory,
            "memswap_limit": memory,
            "pids_limit": CONTAINER_PIDS,
            "security_opt": ["no-new-privileges"],
            # A chatty container could otherwise fill the sandbox's disk with its log.
            "log_config": LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
        }

    def _wait(self, container: Container, timeout: float, shown: str) -> RunResult:
        try:
            status = container.wait(timeout=timeout)
        except requests.exceptions.RequestException:
            with translate_docker_errors("stop a container"):
                container.kill()
            raise SandboxError("timeout", f"The command {shown} did not finish within {timeout:g} seconds.") from None
        except docker.errors.DockerException as error:
            raise _as_sandbox_error(error, "wait for a container") from None
        with translate_docker_errors("read a container's output"):
            output, truncated = _read_limited(container.logs(stream=True, stdout=True, stderr=True))
            container.reload()
        oom_killed = bool(container.attrs.get("State", {}).get("OOMKilled"))
        return RunResult(int(status.get("StatusCode", -1)), output, truncated, oom_killed)

    def exec(self, container: Container, cmd: list[str] | str, timeout: float | None = None) -> tuple[int, str]:
        """Run `cmd` inside a running container and return (exit code, output).

        Raises SandboxError("timeout", ...) when it runs longer than `timeout` seconds; the command's
        processes are killed then (or, on a daemon that is not on this machine, the container is stopped).
        """
        timeout = timeout or settings.CHECK_TIMEOUT_SECONDS
        # The stream is read with its own client, whose socket timeout outlasts the command's time limit.
        client = make_client(self.docker_host, timeout=timeout + 10, ping=False)
        try:
            with translate_docker_errors("run a command in the container"):
                exec_id = client.api.exec_create(container.id, cmd, stdout=True, stderr=True)["Id"]
                reader = _ExecReader(client.api.exec_start(exec_id, stream=True))
            thread = threading.Thread(target=reader.run, daemon=True)
            thread.start()
            thread.join(timeout)
            if thread.is_alive():
                self._stop_exec(client, container, exec_id)
                thread.join(5)
                raise SandboxError(
                    "timeout", f"The command {_shown_command(cmd)} did not finish within {timeout:g} seconds."
                )
            if reader.error is not None:
                raise _as_sandbox_error(reader.error, "read a command's output")
            with translate_docker_errors("read a command's exit code"):
                exit_code = client.api.exec_inspect(exec_id)["ExitCode"]
            return int(exit_code if exit_code is not None else -1), reader.text()
        finally:
            client.close()

    def _stop_exec(self, client: docker.DockerClient, container: Container, exec_id: str) -> None:
        with translate_docker_errors("stop a command"):
            pid = client.api.exec_inspect(exec_id).get("Pid") or 0
        if pid and kill_container_process_tree(pid, container.id):
            return
        # The process is not on this machine (a remote daemon): stopping the container is the only way.
        with translate_docker_errors("stop a container"):
            container.kill()

    def _client(self) -> docker.DockerClient:
        if self.client is None:
            raise RuntimeError("BuildEnvironment must be used in a `with` block.")
        return self.client

    def _workdir(self) -> Path:
        if self.workdir is None:
            raise RuntimeError("BuildEnvironment must be used in a `with` block.")
        return self.workdir


# --- Clients, limits and cleanup ----------------------------------------------------------------------------


def make_client(docker_host: str, timeout: float = API_TIMEOUT_SECONDS, ping: bool = True) -> docker.DockerClient:
    """A docker SDK client for a sandbox daemon, checked with a ping. Raises SandboxError when unreachable."""
    environment = dict(os.environ, DOCKER_HOST=docker_host)
    try:
        client = docker.from_env(environment=environment, timeout=PING_TIMEOUT_SECONDS)
        if ping:
            client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        logger.warning("Sandbox daemon %s is not answering: %s", docker_host, error)
        raise SandboxError("daemon_unavailable", UNAVAILABLE_MESSAGE) from None
    client.api.timeout = timeout
    return client


@contextmanager
def translate_docker_errors(action: str) -> Iterator[None]:
    """Turn docker SDK and connection errors into SandboxErrors with words (`action` says what failed)."""
    try:
        yield
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise _as_sandbox_error(error, action) from None


def _as_sandbox_error(error: Exception, action: str) -> SandboxError:
    logger.info("Docker call failed (%s): %r", action, error)
    # Over a unix socket a read timeout arrives as a ConnectionError that says "Read timed out".
    if isinstance(error, requests.exceptions.Timeout) or "timed out" in str(error).lower():
        return SandboxError("timeout", f"The sandbox took too long to {action}.")
    if isinstance(error, requests.exceptions.ConnectionError):
        return SandboxError("daemon_unavailable", UNAVAILABLE_MESSAGE)
    if isinstance(error, docker.errors.NotFound):
        return SandboxError("not_found", f"Could not {action}: it no longer exists in the sandbox.")
    if isinstance(error, docker.errors.APIError):
        explanation = str(error.explanation or error)[:300]
        return SandboxError("docker_error", f"The sandbox could not {action}: {explanation}")
    return SandboxError("docker_error", f"The sandbox could not {action}.")


def daemon_cgroup(docker_host: str) -> str | None:
    """The cgroup name (`dockyard-sb0`) of a daemon running on this machine, or None.

    Sandbox daemons run with --cgroup-parent=/NAME where NAME is the folder holding their socket.
    """
    from . import daemons

    names = [d.name for d in daemons.all_daemons() if d.docker_host == docker_host and not d.remote]
    if not names and docker_host.startswith("unix://"):
        names = [Path(docker_host.removeprefix("unix://")).parent.name]
    for name in names:
        if any((root / name).is_dir() for root in _cgroup_roots("pids")):
            return name
    return None


def daemon_limits(docker_host: str) -> DaemonLimits:
    """The memory and process limits of a daemon's builds, for messages."""
    cgroup = daemon_cgroup(docker_host)
    memory_mb, pids = settings.SANDBOX_MEMORY_MB, settings.SANDBOX_PIDS
    if cgroup is not None:
        memory = _read_cgroup_number(cgroup, "memory", ("memory.limit_in_bytes", "memory.max"))
        if memory and memory < 1 << 50:
            memory_mb = memory // (1024 * 1024)
        pids = _read_cgroup_number(cgroup, "pids", ("pids.max",)) or pids
    return DaemonLimits(memory_mb, pids, cgroup)


def _cgroup_roots(controller: str) -> list[Path]:
    # cgroup v1 has one tree per controller; cgroup v2 has one tree for all.
    return [CGROUP_ROOT / controller, CGROUP_ROOT]


def _read_cgroup_number(cgroup: str, controller: str, filenames: tuple[str, ...]) -> int | None:
    for root in _cgroup_roots(controller):
        for filename in filenames:
            value = _read_text(root / cgroup / filename)
            if value and value.isdigit():
                return int(value)
    return None


def leftover_build_pids(docker_host: str) -> list[int]:
    """PIDs still in the daemon's BuildKit cgroups (RUN steps), when the daemon runs on this machine."""
    cgroup = daemon_cgroup(docker_host)
    if cgroup is None:
        return []
    pids: list[int] = []
    for root in _cgroup_roots("pids"):
        buildkit = root / cgroup / "buildkit"
        if buildkit.is_dir():
            for procs in buildkit.rglob("cgroup.procs"):
                pids += [int(pid) for pid in (_read_text(procs) or "").split()]
        if pids:
            break
    return pids


def stop_leftover_build(docker_host: str, grace: float = BUILD_STOP_GRACE_SECONDS) -> int:
    """After the build CLI was killed, make sure no RUN step process survives on the daemon.

    BuildKit kills them itself when the CLI's session ends; this waits `grace` seconds for that, then
    kills whatever is left in the daemon's BuildKit cgroups. One build runs per daemon at a time, so
    those processes belong to the build just stopped. Returns how many processes had to be killed.
    """
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not leftover_build_pids(docker_host):
            return 0
        time.sleep(0.2)
    killed = 0
    # A process may fork while its siblings are killed, so go round a few times.
    for _ in range(5):
        pids = leftover_build_pids(docker_host)
        if not pids:
            break
        for pid in pids:
            killed += _kill(pid)
        time.sleep(0.2)
    logger.warning("Killed %d build processes left on %s after a timeout.", killed, docker_host)
    return killed


def kill_container_process_tree(pid: int, container_id: str) -> bool:
    """Kill a process of a container and its descendants, if it runs on this machine. True when done.

    The process's cgroup must name the container, so a reused PID never hits another process.
    """
    cgroups = _read_text(Path(f"/proc/{pid}/cgroup"))
    if not cgroups or container_id not in cgroups:
        return False
    for victim in [pid, *_descendants(pid)]:
        _kill(victim)
    return True


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            for child in (_read_text(children) or "").split():
                found.append(int(child))
                pending.append(int(child))
    return found


def _kill(pid: int) -> int:
    try:
        os.kill(pid, signal.SIGKILL)
        return 1
    except (ProcessLookupError, PermissionError):
        return 0


def remove_labelled(client: docker.DockerClient, label_filter: str, older_than_seconds: float = 0) -> dict[str, int]:
    """Remove the containers, then the images, matching a label filter and older than the threshold.

    Never touches the build cache. Failures are logged, not raised: cleanup must not hide the result.
    """
    removed = {"containers": 0, "images": 0}
    cutoff = time.time() - older_than_seconds
    try:
        for container in client.containers.list(all=True, filters={"label": label_filter}):
            if older_than_seconds <= 0 or _docker_time(container.attrs.get("Created")) <= cutoff:
                removed["containers"] += _remove(lambda c=container: c.remove(force=True, v=True))
        for image in client.images.list(all=True, filters={"label": label_filter}):
            if older_than_seconds <= 0 or _docker_time(image.attrs.get("Created")) <= cutoff:
                removed["images"] += _remove(lambda i=image: client.images.remove(i.id, force=True))
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        logger.warning("Cleanup of %s was incomplete: %s", label_filter, error)
    return removed


def _remove(action: Callable[[], object]) -> int:
    try:
        action()
        return 1
    except docker.errors.NotFound:
        return 0
    except docker.errors.APIError as error:
        logger.warning("Could not remove a sandbox leftover: %s", error)
        return 0


def reap(docker_host: str, older_than_seconds: float) -> dict[str, int]:
    """Remove every submission's containers and images older than the threshold from one daemon.

    Call it with older_than_seconds=0 when a worker starts (for the daemons it owns) and periodically with
    a threshold longer than a build's hard time limit. A fully cached rebuild gets the image's original
    creation time, so keep the threshold generous. Returns how many containers and images went.
    """
    client = make_client(docker_host)
    try:
        return remove_labelled(client, LABEL, older_than_seconds)
    finally:
        client.close()


def remove_stale_workdirs(older_than_seconds: float) -> int:
    """Remove build folders that a killed worker never cleaned up; returns how many went."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in Path(tempfile.gettempdir()).glob("dockyard-sub-*"):
        if path.is_dir() and not path.is_symlink() and path.stat().st_mtime < cutoff:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


# --- The build subprocess ----------------------------------------------------------------------------------


def _run_streaming(
    command: list[str],
    env: dict[str, str],
    timeout: float,
    on_chunk: Callable[[bytes], None],
    on_quiet: Callable[[], None] | None = None,
) -> tuple[int | None, bool]:
    """Run a command, passing its output to on_chunk as it comes, for at most `timeout` seconds.

    The command runs in its own process group; on timeout (or any error here) the whole group is killed.
    Returns (exit code or None when killed, whether it timed out).
    """
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        timed_out = _pump(process, deadline, on_chunk, on_quiet)
        if timed_out:
            _kill_group(process)
            return None, True
        try:
            return process.wait(timeout=max(deadline - time.monotonic(), 1)), False
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return None, True
    finally:
        if process.poll() is None:
            _kill_group(process)
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


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


class _BuildStream:
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
        self.progress = _ProgressParser()

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


class _ProgressParser:
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


def _build_result(
    stream: _BuildStream,
    returncode: int | None,
    timed_out: bool,
    image_id: str | None,
    duration: float,
    limits: DaemonLimits,
) -> BuildResult:
    progress = stream.progress
    reason, message, exit_code = _classify(progress, returncode, timed_out, image_id, duration, limits)
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


def _classify(
    progress: _ProgressParser,
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


# --- Small helpers ----------------------------------------------------------------------------------------


class _ExecReader:
    """Reads an exec's output stream on a thread, keeping at most COMMAND_OUTPUT_LIMIT_BYTES."""

    def __init__(self, stream: Iterator[bytes]) -> None:
        self.stream = stream
        self.chunks: list[bytes] = []
        self.size = 0
        self.truncated = False
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            for chunk in self.stream:
                self._keep(chunk)
        except Exception as error:  # noqa: BLE001 - handed to the calling thread
            self.error = error

    def _keep(self, chunk: bytes) -> None:
        room = COMMAND_OUTPUT_LIMIT_BYTES - self.size
        if room <= 0:
            self.truncated = True
            return
        self.chunks.append(chunk[:room])
        self.size += min(len(chunk), room)
        self.truncated = self.truncated or len(chunk) > room

    def text(self) -> str:
        text = b"".join(self.chunks).decode("utf-8", errors="replace")
        return text + ("\n" + TRUNCATED_MARK if self.truncated else "")


def _read_limited(stream: Iterator[bytes]) -> tuple[str, bool]:
    kept = bytearray()
    truncated = False
    for chunk in stream:
        room = COMMAND_OUTPUT_LIMIT_BYTES - len(kept)
        kept += chunk[: max(room, 0)]
        if len(chunk) > room:
            truncated = True
            break
    text = kept.decode("utf-8", errors="replace")
    return text + ("\n" + TRUNCATED_MARK if truncated else ""), truncated


def _images_used(dockerfile: Dockerfile) -> list[str]:
    """The images a Dockerfile takes from the daemon: FROM bases, and COPY --from or mount from= images.

    Earlier stages, stage numbers and `scratch` are not images.
    """
    from .policy import parse_mount

    wanted: list[tuple[str, int]] = [(stage.base, stage.index) for stage in dockerfile.stages]
    for instruction in dockerfile.instructions:
        sources = instruction.flag_values("from") if instruction.keyword == "COPY" else []
        sources += [parse_mount(mount).get("from", "") for mount in instruction.flag_values("mount")]
        wanted += [(source, instruction.stage) for source in sources if source]
    images = []
    for word, stage_index in wanted:
        name = dockerfile.resolve(word)
        earlier = dockerfile.stage_named(name or "")
        if not name or name.lower() == "scratch" or (earlier is not None and earlier.index < stage_index):
            continue
        if name.isdigit() and int(name) < stage_index:
            continue
        if name not in images:
            images.append(name)
    return images


def _layer_fact(entry: dict[str, Any]) -> dict[str, Any]:
    created_by = entry.get("CreatedBy") or ""
    size = int(entry.get("Size") or 0)
    return {"created_by": created_by, "size": size, "empty_layer": size == 0 and not _changes_files(created_by)}


def _changes_files(created_by: str) -> bool:
    # BuildKit writes `RUN /bin/sh -c ... # buildkit`, `COPY a b # buildkit`, `ENV A=1`; the classic
    # builder writes `/bin/sh -c #(nop)  ENV A=1` for metadata and `/bin/sh -c apt-get ...` for RUN.
    # RUN, COPY, ADD and WORKDIR always add a layer with BuildKit, even an empty one.
    text = created_by.strip()
    if text.startswith("/bin/sh -c #(nop)"):
        text = text.removeprefix("/bin/sh -c #(nop)").strip()
    elif text.startswith("/bin/sh -c") or text.startswith("|"):
        return True
    keyword = text.split(" ", 1)[0].upper()
    return keyword in ("RUN", "COPY", "ADD", "WORKDIR")


def _env_dict(entries: list[str]) -> dict[str, str]:
    return dict(entry.split("=", 1) if "=" in entry else (entry, "") for entry in entries)


def _docker_time(value: str | int | None) -> float:
    """Seconds since the epoch from Docker's Created field (RFC 3339 with nanoseconds, or a number)."""
    if isinstance(value, int | float):
        return float(value)
    if not value:
        return 0.0
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", value)
    if not match:
        return 0.0
    zone = match.group(3) or "Z"
    stamp = datetime.fromisoformat(match.group(1) + ("+00:00" if zone == "Z" else zone))
    fraction = float("0." + match.group(2)) if match.group(2) else 0.0
    return stamp.timestamp() + fraction


def _shown_command(command: list[str] | str | None) -> str:
    if command is None:
        return "(the image's default command)"
    text = command if isinstance(command, str) else " ".join(command)
    return f"`{text[:200]}`"


def _as_bytes(files: dict[str, bytes] | dict[str, str]) -> dict[str, bytes]:
    return {name: data.encode("utf-8") if isinstance(data, str) else data for name, data in files.items()}


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _slug(text: str) -> str:
    # Docker repository names allow lower-case letters and digits separated by single dashes.
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def image_tag(submission_id: int | str, suffix: str = "") -> str:
    """The image name a submission's build gets: `dockyard/sub-<id><suffix>`, made a valid reference."""
    return f"dockyard/sub-{_slug(f'{submission_id}{suffix}')}"
