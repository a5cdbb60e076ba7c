"""One submission's Docker work on one sandbox daemon: `BuildEnvironment`, a context manager.

Modelled on Read the Docs' DockerBuildEnvironment:

    with BuildEnvironment(docker_host, submission.pk, on_log=publish_line) as env:
        result = env.build(files)
        if result.ok:
            facts = env.image_facts(result.image_id)
            run = env.run_to_end(result.image_id, ["python", "-V"], timeout=30)

Builds go through the BuildKit-capable docker CLI as a subprocess (sandbox/buildkit.py; the Python SDK cannot
drive BuildKit); everything else uses the docker SDK. Leaving the block removes every container, image, network
and volume labelled with the submission id, whatever happened inside it. Every name the environment gives
(image tags, containers, networks, volumes) carries a random part, so no learner can guess another's, and the
daemon's BuildKit cache mounts are emptied before a submission's first build (docs/security.md). Docker failures become `SandboxError`s whose
message a learner can read; a failed build is not an exception but a `BuildResult` with a reason and a message.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
from django.conf import settings
from docker.models.containers import Container
from docker.models.networks import Network
from docker.models.volumes import Volume
from docker.types import LogConfig

from .buildkit import TRUNCATED_MARK, BuildResult, BuildStream, build_result, run_streaming
from .catalog import PROBE_IMAGE, catalog_names
from .cgroups import buildkit_cgroups, daemon_limits
from .cleanup import LABEL, kill_container_process_tree, remove_labelled, stop_leftover_build
from .clients import (
    UNAVAILABLE_MESSAGE,
    SandboxError,
    as_sandbox_error,
    docker_environment,
    make_client,
    translate_docker_errors,
)
from .dockerfile import DockerfileSyntaxError, parse_dockerfile
from .files import SubmissionRejected, as_bytes, write_context
from .images import image_facts, images_used
from .policy import check_dockerfile

# Output kept from one command run in a container, for messages and regexes. A container's whole log is
# capped at 1 MiB by its log options (see _container_options).
COMMAND_OUTPUT_LIMIT_BYTES = 64 * 1024
# Each container gets its own limits, well inside the daemon's cgroup limits.
CONTAINER_MEMORY_MB = 512
CONTAINER_PIDS = 256
# With it, the kernel kills the build CLI when the worker dies (see _build_command).
SETPRIV = "/usr/bin/setpriv"


@dataclass
class Hardening:
    """Run-time restrictions of a hardened deployment (lesson 21), on top of the sandbox's own."""

    read_only: bool = True
    tmpfs: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ("ALL",)

    def options(self) -> dict[str, Any]:
        # The sandbox's containers already run with no-new-privileges (see _container_options).
        return {
            "read_only": self.read_only,
            "tmpfs": {path: "rw,nosuid,nodev,size=64m" for path in self.tmpfs},
            "cap_drop": list(self.cap_drop),
        }


@dataclass
class RunResult:
    """A command that ran in a fresh container: its exit code (None when it timed out) and its output."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    oom_killed: bool = False


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
        still_ours: Callable[[], bool] = lambda: True,
        on_stage: Callable[[str], None] = lambda stage: None,
    ) -> None:
        self.docker_host = docker_host
        # Told when a build reaches a stage ("context_written", "build_started", "build_finished"), for the
        # submission's stage timings (sandbox/timings.py).
        self.on_stage = on_stage
        self.submission_id = str(submission_id)
        self.on_log = on_log
        # Called when the build has printed nothing for a moment, so a caller that batches lines can send
        # what it holds instead of keeping the last lines of a slow step back until the next output.
        self.on_quiet = on_quiet
        # Whether this build still holds the daemon's lease; processes on the daemon are only killed while it does.
        self.still_ours = still_ours
        self.client: docker.DockerClient | None = None
        self.workdir: Path | None = None
        self.builds = 0
        # The random part of every name this environment gives, so that no name can be guessed.
        self.secret = secrets.token_hex(8)
        self.names_given = 0
        self.stopped = threading.Event()
        self._process: subprocess.Popen | None = None
        self._emptying: threading.Thread | None = None
        self._emptying_error: SandboxError | None = None

    def __enter__(self) -> BuildEnvironment:
        # Learning the daemon's API version is already a round trip that fails when it does not answer.
        self.client = make_client(self.docker_host, ping=False)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"dockyard-sub-{slug(self.submission_id)}-"))
        # The cache mounts are emptied while the grader does its static checks; the first build waits for it.
        self._emptying = threading.Thread(target=self._empty_in_background, name="empty cache mounts", daemon=True)
        self._emptying.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._emptying is not None:
            self._emptying.join()
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

    def new_name(self, kind: str) -> str:
        """A name for a container, network or volume of this submission that no other learner can guess."""
        self.names_given += 1
        return f"dockyard-{slug(self.submission_id)}-{self.secret}-{kind}{self.names_given}"

    def stop(self) -> None:
        """Stop everything this environment runs, now, from any thread (its lease on the daemon was lost).

        The build CLI is killed (BuildKit then cancels the RUN step) and this submission's containers are
        removed; everything the environment is asked to do afterwards fails with a SandboxError.
        """
        self.stopped.set()
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(SandboxError):
            client = make_client(self.docker_host, timeout=20)
            try:
                with contextlib.suppress(docker.errors.DockerException, requests.exceptions.RequestException):
                    for container in client.containers.list(
                        all=True, filters={"label": f"{LABEL}={self.submission_id}"}
                    ):
                        container.remove(force=True, v=True)
            finally:
                client.close()

    def _check_not_stopped(self) -> None:
        if self.stopped.is_set():
            raise SandboxError("daemon_unavailable", "The build was stopped: its sandbox is no longer held.")

    # --- Building ---------------------------------------------------------------------------------------

    def build(
        self, files: dict[str, bytes], tag_suffix: str = "", secrets: dict[str, str] | None = None
    ) -> BuildResult:
        """Build the files (which must contain a Dockerfile) with BuildKit, streaming output to on_log.

        secrets: build secrets by id, for `RUN --mount=type=secret,id=...`; only these ids may be mounted.
        """
        started = time.monotonic()
        secrets = secrets or {}
        refused = self._refuse_before_build(files, secrets)
        if refused is not None:
            return refused
        self._check_not_stopped()
        if self.builds == 0 and self._emptying is not None:
            self._emptying.join()
            if self._emptying_error is not None:
                raise self._emptying_error
        steps_before = buildkit_cgroups(self.docker_host)
        self.builds += 1
        build_dir = self._workdir() / f"build-{self.builds}"
        build_dir.mkdir()
        try:
            try:
                context = write_context(as_bytes(files), build_dir / "context")
            except SubmissionRejected as error:
                return BuildResult(False, "refused", error.message)
            self.on_stage("context_written")
            iidfile = build_dir / "image-id"
            command = self._build_command(context, iidfile, tag_suffix, secret_options(build_dir, secrets))
            stream = BuildStream(self.on_log, settings.BUILD_LOG_LIMIT_BYTES)
            timeout = settings.BUILD_TIMEOUT_SECONDS
            returncode, timed_out = run_streaming(
                command, self._cli_env(build_dir), timeout, stream.feed, self.on_quiet, self._started
            )
            self._process = None
            self.on_stage("build_finished")
            stream.finish()
            if timed_out:
                stop_leftover_build(self.docker_host, ignore=steps_before, still_ours=self.still_ours)
            image_id = iidfile.read_text().strip() if iidfile.exists() else None
        finally:
            shutil.rmtree(build_dir, ignore_errors=True)
        duration = time.monotonic() - started
        result = build_result(stream, returncode, timed_out, image_id, duration, daemon_limits(self.docker_host))
        # A daemon that dies mid-build leaves the 20.10 CLI saying only that it got no image ID.
        if result.reason == "build_failed" and not self._answers():
            result.reason, result.message = "daemon_unavailable", UNAVAILABLE_MESSAGE
        if result.ok:
            self._refuse_a_huge_config(result)
        return result

    def _empty_in_background(self) -> None:
        try:
            self._empty_cache_mounts()
        except SandboxError as error:
            self._emptying_error = error

    def _empty_cache_mounts(self) -> None:
        """Remove the daemon's BuildKit cache mounts, so this submission's builds start with none.

        A cache mount (`RUN --mount=type=cache`) outlives its build on purpose; without this, one learner's
        build could leave a file there for the next learner's build to read. One build runs on a daemon at a
        time (the lease, sandbox/leases.py), so no other submission is using one; the daemon skips any that is
        in use anyway. It runs once, when the environment opens, and the first build waits for it, so the grader's
        rebuilds of the same submission (the cache check) find the cache mounts as the first build left them.
        """
        with translate_docker_errors("empty the build cache mounts"):
            self._client().api.prune_builds(filters={"type": "exec.cachemount"}, all=True)

    def _refuse_a_huge_config(self, result: BuildResult) -> None:
        """Fail a build whose image configuration (ENV, LABEL, CMD, ...) is over IMAGE_CONFIG_MAX_BYTES.

        The configuration travels into the grading result, the database and the learner's browser; a
        multi-megabyte one must stop here, with the reason in words.
        """
        with translate_docker_errors("inspect the image"):
            config = self._client().api.inspect_image(result.image_id).get("Config") or {}
        size = len(json.dumps(config))
        limit = settings.IMAGE_CONFIG_MAX_BYTES
        if size <= limit:
            return
        with contextlib.suppress(docker.errors.DockerException, requests.exceptions.RequestException):
            self._client().images.remove(result.image_id, force=True)
        result.ok, result.reason, result.image_id = False, "config_too_large", None
        result.message = (
            f"The image was built, but its configuration (ENV, LABEL, CMD and the like) is {size // 1024} KiB; "
            f"the sandbox accepts at most {limit // 1024} KiB. Make the ENV and LABEL values shorter, or put "
            "large data in a file that you COPY into the image."
        )

    def _started(self, process: subprocess.Popen) -> None:
        self._process = process
        self.on_stage("build_started")
        if self.stopped.is_set():
            os.killpg(process.pid, signal.SIGKILL)

    def _answers(self) -> bool:
        try:
            return bool(self._client().ping())
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return False

    def _refuse_before_build(self, files: dict[str, bytes], secrets: dict[str, str]) -> BuildResult | None:
        # The security rules are checked here too, so no caller can build a Dockerfile that skipped them.
        text = as_bytes(files).get("Dockerfile", b"").decode("utf-8", errors="replace")
        try:
            check_dockerfile(text, catalog_names(), secret_ids=secrets.keys())
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
        return next((name for name in images_used(dockerfile) if not self._has_image(name)), None)

    def _has_image(self, name: str) -> bool:
        with translate_docker_errors(f"look up the image {name}"):
            try:
                self._client().images.get(name)
            except docker.errors.ImageNotFound:
                return False
        return True

    def _build_command(self, context: Path, iidfile: Path, tag_suffix: str, extra: Sequence[str] = ()) -> list[str]:
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
            image_tag(self.submission_id, tag_suffix, self.secret),
            "--iidfile",
            str(iidfile),
            *extra,
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
        return {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(build_dir),
            "DOCKER_CONFIG": str(config),
            "DOCKER_BUILDKIT": "1",
            "LANG": "C.UTF-8",
            **docker_environment(self.docker_host),
        }

    # --- Images and containers --------------------------------------------------------------------------

    def image_facts(self, image: str) -> dict[str, Any]:
        """Size, layers and configuration of an image, for grading and for showing the learner."""
        with translate_docker_errors(f"inspect the image {image}"):
            found = self._client().images.get(image)
            history = found.history()
        return image_facts(found.attrs, history)

    def image_archive(self, image: str) -> Iterator[bytes]:
        """`docker save` of one image, as a stream of tar chunks."""
        with translate_docker_errors(f"read the image {image[:19]}"):
            return self._client().images.get(image).save(named=False)

    def start_container(
        self, image: str, command: list[str] | str | None = None, *, environment: dict[str, str] | None = None
    ) -> Container:
        """Start `command` (or the image's default) in a new container; it is removed when the environment is left."""
        container = self.create_container(image, command, environment=environment)
        with translate_docker_errors(f"start a container from {image[:19]}"):
            container.start()
        return container

    def run_to_end(
        self,
        image: str,
        command: list[str] | None = None,
        *,
        environment: dict[str, str] | None = None,
        timeout: float | None = None,
        replace_entrypoint: bool = False,
        hardened: Hardening | None = None,
    ) -> RunResult:
        """Run a command (or the image's default) in a new container to its end; stdout and stderr kept apart.

        A command still running after `timeout` seconds is killed and reported with timed_out=True. The
        container is removed afterwards.
        """
        timeout = timeout or settings.CHECK_TIMEOUT_SECONDS
        container = self.create_container(
            image,
            command,
            environment=environment,
            entrypoint=[""] if replace_entrypoint else None,
            hardened=hardened,
        )
        try:
            with translate_docker_errors("start a container"):
                container.start()
            timed_out = not self._wait(container, timeout)
            state = self.container_state(container)
            return RunResult(
                exit_code=None if timed_out else int(state.get("ExitCode", -1)),
                stdout=self.container_output(container, stdout=True),
                stderr=self.container_output(container, stderr=True),
                timed_out=timed_out,
                oom_killed=bool(state.get("OOMKilled")),
            )
        finally:
            self.remove_container(container)

    def create_container(
        self,
        image: str,
        command: list[str] | str | None = None,
        *,
        environment: dict[str, str] | None = None,
        entrypoint: list[str] | None = None,
        healthcheck: dict[str, Any] | None = None,
        hardened: Hardening | None = None,
    ) -> Container:
        """Create (not start) a container with no network, the per-container limits and this submission's label.

        entrypoint=[""] runs `command` exactly as given, like `docker run --entrypoint ""`; healthcheck
        overrides parts of the image's HEALTHCHECK (the daemon keeps the rest); hardened adds
        `--read-only`, `--tmpfs` and `--cap-drop` as a hardened deployment would run it.
        """
        options = self._container_options(environment)
        options["name"] = self.new_name("c")
        if entrypoint is not None:
            options["entrypoint"] = entrypoint
        if healthcheck is not None:
            options["healthcheck"] = healthcheck
        if hardened is not None:
            options.update(hardened.options())
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

    def _wait(self, container: Container, timeout: float) -> bool:
        """Wait for the container to end; False (and the container killed) when it runs past the timeout."""
        try:
            container.wait(timeout=timeout)
            return True
        except requests.exceptions.RequestException:
            with translate_docker_errors("stop a container"):
                container.kill()
            return False

    def container_state(self, container: Container) -> dict[str, Any]:
        with translate_docker_errors("inspect a container"):
            container.reload()
        return container.attrs.get("State") or {}

    def container_output(self, container: Container, stdout: bool = False, stderr: bool = False) -> str:
        """The end of a container's output (at most COMMAND_OUTPUT_LIMIT_BYTES), stdout, stderr or both."""
        with translate_docker_errors("read a container's output"):
            data = container.logs(stdout=stdout, stderr=stderr)
        return data[-COMMAND_OUTPUT_LIMIT_BYTES:].decode("utf-8", "replace")

    def remove_container(self, container: Container) -> None:
        # Leftovers are removed by label when the environment closes; this only frees resources sooner.
        with contextlib.suppress(docker.errors.DockerException, requests.exceptions.RequestException):
            container.remove(force=True, v=True)

    def start_probe(self, container: Container) -> Container:
        """Start the grader's probe (PROBE_IMAGE) in `container`'s network namespace, and nothing else of it.

        Through the shared loopback the probe reaches the learner's app, and its /proc/net/tcp is that
        namespace's, all with the grader's own tools: a fake python3, wget or cat in the learner's image takes
        no part in a verdict. The probe does not share the PID namespace, so a learner's process cannot see or
        trace the probe's processes. It has the usual limits and labels and is removed with the environment.
        """
        options = self._container_options(None)
        options["network_mode"] = f"container:{container.id}"
        options["name"] = self.new_name("probe")
        try:
            probe = self._client().containers.create(PROBE_IMAGE, ["sleep", "infinity"], **options)
        except docker.errors.ImageNotFound:
            raise SandboxError(
                "probe_missing",
                f"The grader's probe image {PROBE_IMAGE} is not loaded in this sandbox. This is a problem on our "
                "side, not in your Dockerfile; please tell your instructor.",
            ) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            raise as_sandbox_error(error, "start the grader's probe") from None
        with translate_docker_errors("start the grader's probe"):
            probe.start()
        return probe

    def main_command(self, container: Container) -> str | None:
        """The command line of the container's PID 1, as the daemon lists it (`docker top`): the daemon's own
        `ps`, not a tool in the learner's image. None when the container no longer runs."""
        with translate_docker_errors("list a container's processes"):
            container.reload()
            pid = (container.attrs.get("State") or {}).get("Pid")
            if not pid:
                return None
            processes = container.top(ps_args="-o pid,args").get("Processes") or []
        return next((row[1] for row in processes if len(row) > 1 and str(row[0]) == str(pid)), None)

    def create_network(self) -> Network:
        """A user-defined network in the sandbox daemon, on which this submission's containers reach each other
        by name. Internal (no way out even if the daemon had one), labelled, and removed when the environment
        is left."""
        with translate_docker_errors("create a network"):
            return self._client().networks.create(
                self.new_name("net"), driver="bridge", internal=True, labels=self.label
            )

    def create_volume(self) -> Volume:
        """A named volume for this submission, labelled and removed when the environment is left."""
        with translate_docker_errors("create a volume"):
            return self._client().volumes.create(self.new_name("vol"), labels=self.label)

    def exec(self, container: Container, cmd: list[str] | str, timeout: float | None = None) -> tuple[int, str]:
        """Run `cmd` inside a running container and return (exit code, output).

        Raises SandboxError("timeout", ...) when it runs longer than `timeout` seconds; the command's
        processes are killed then (or, on a daemon that is not on this machine, the container is stopped).
        """
        timeout = timeout or settings.CHECK_TIMEOUT_SECONDS
        self._check_not_stopped()
        # The stream is read with its own client, whose socket timeout outlasts the command's time limit.
        client = make_client(self.docker_host, timeout=timeout + 10, ping=False)
        try:
            with translate_docker_errors("run a command in the container"):
                exec_id = client.api.exec_create(container.id, cmd, stdout=True, stderr=True)["Id"]
                reader = ExecReader(client.api.exec_start(exec_id, stream=True))
            thread = threading.Thread(target=reader.run, daemon=True)
            thread.start()
            thread.join(timeout)
            if thread.is_alive():
                self._stop_exec(client, container, exec_id)
                thread.join(5)
                raise SandboxError(
                    "timeout", f"The command {shown_command(cmd)} did not finish within {timeout:g} seconds."
                )
            if reader.error is not None:
                raise as_sandbox_error(reader.error, "read a command's output")
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
        self._check_not_stopped()
        return self.client

    def _workdir(self) -> Path:
        if self.workdir is None:
            raise RuntimeError("BuildEnvironment must be used in a `with` block.")
        return self.workdir


# --- Small helpers ----------------------------------------------------------------------------------------


class ExecReader:
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


def secret_options(build_dir: Path, secrets: dict[str, str]) -> list[str]:
    """`--secret id=NAME,src=FILE` for each build secret; the files live in the build's private folder.

    With secrets, the build also runs without the cache: a cached step would hold what an earlier build
    did with an earlier value, so the step that mounts the secret must run again with this one.
    """
    if not secrets:
        return []
    folder = build_dir / "secrets"
    folder.mkdir(mode=0o700)
    options = ["--no-cache"]
    for name, value in secrets.items():
        path = folder / name
        path.write_text(value)
        path.chmod(0o600)
        options += ["--secret", f"id={name},src={path}"]
    return options


def shown_command(command: list[str] | str | None) -> str:
    if command is None:
        return "(the image's default command)"
    text = command if isinstance(command, str) else " ".join(command)
    return f"`{text[:200]}`"


def slug(text: str) -> str:
    # Docker repository names allow lower-case letters and digits separated by single dashes.
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def image_tag(submission_id: int | str, suffix: str = "", secret: str = "") -> str:
    """The image name a submission's build gets: `dockyard/sub-<id>-<secret><suffix>`, made a valid reference.

    The secret is the BuildEnvironment's random part, so no learner can name another's image.
    """
    return f"dockyard/sub-{slug(f'{submission_id}-{secret}{suffix}')}"
