"""Running a lab for real on the leased sandbox daemon, looking at what it left, and tearing it all down.

    with LabRun(env, "commands", files) as lab:     # env: the submission's BuildEnvironment
        result = lab.run_commands(plan)             # each command and its output streamed to the log
        web = lab.container("web")                  # `docker inspect` of what the lab made
        code, output = lab.probe(["nc", "-z", "api", "80"], namespace_of=web)
    # leaving the block removes every container, volume, network and image the lab made

Commands run in order through the real docker CLI (settings.DOCKER_CLI) with DOCKER_HOST set to the daemon,
one at a time, each with a time limit, in a folder holding the submission's files. The runner adds
`--label dockyard.submission=<id>` to what creates things (and `--network none` to builds, which have no
network in the sandbox), so teardown finds it all. A Compose lab runs docker-compose 1.29 with a project name
of its own and an override file that labels every service, volume, network and build.

Probes use the grader's own image (catalog.PROBE_IMAGE), never the learner's binaries: a probe container
joins a lab container's network namespace, or the lab's network, or mounts a lab volume read-only.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
import requests.exceptions
import yaml
from django.conf import settings
from docker.types import LogConfig

from sandbox import registry
from sandbox.buildkit import MAX_LINE_BYTES, TRUNCATED_MARK, run_streaming
from sandbox.catalog import PROBE_IMAGE
from sandbox.cleanup import LABEL, stop_leftover_build
from sandbox.clients import SandboxError, translate_docker_errors
from sandbox.environment import SETPRIV, BuildEnvironment
from sandbox.files import write_context

from .commands import CommandPlan, LabCommand
from .compose import COMPOSE_FILE, ComposePlan
from .names import LabNames, is_catalog_image
from .teardown import COMPOSE_PROJECT, LabObjects, remove_lab, remove_stale_names

DEFAULT_COMMAND_SECONDS = 30
COMPOSE_DOWN_SECONDS = 60
PROBE_MEMORY = "256m"
PROBE_PIDS = 128
OUTPUT_TAIL_LINES = 12
# The sandbox daemon runs with --ip-forward=false on purpose; its networks still work inside it, so the
# CLI's warning about it would only mislead a learner.
NOISE = ("WARNING: IPv4 forwarding is disabled. Networking will not work.",)
# Commands that would show or remove the whole daemon's things, held to the lab's own by its label.
LABEL_FILTERED = ("ps", "events", "container prune", "image prune", "volume prune", "network prune")
# What the runner adds to the commands that create things, after the learner's subcommand.
LOG_OPTIONS = ["--log-opt", "max-size=1m", "--log-opt", "max-file=1"]


@dataclass
class StepResult:
    """One command of the lab: what ran, how it ended, and the end of its output (for the verdicts)."""

    line: int
    text: str
    exit_code: int | None
    seconds: float
    timed_out: bool = False
    tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass
class LabResult:
    steps: list[StepResult] = field(default_factory=list)
    skipped: int = 0  # commands not run because the lab ran out of time

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps) and not self.skipped


class LabLog:
    """Output of the lab's commands, as lines, to the submission's log: bounded, and the CLI's noise dropped."""

    def __init__(self, env: BuildEnvironment) -> None:
        self.env = env
        self.limit = settings.BUILD_LOG_LIMIT_BYTES
        self.sent = 0
        self.truncated = False
        self.pending = bytearray()
        self.tail: list[str] = []

    def line(self, text: str) -> None:
        if text in NOISE:
            return
        self.tail = [*self.tail[-(OUTPUT_TAIL_LINES - 1) :], text[:500]]
        if self.truncated:
            return
        size = len(text.encode()) + 1
        if self.sent + size > self.limit:
            self.truncated = True
            self.env.on_log(TRUNCATED_MARK)
            return
        self.sent += size
        self.env.on_log(text)

    def feed(self, chunk: bytes) -> None:
        self.pending += chunk
        while True:
            end = self.pending.find(b"\n")
            if end == -1 and len(self.pending) < MAX_LINE_BYTES:
                return
            cut = end if end != -1 and end < MAX_LINE_BYTES else MAX_LINE_BYTES
            raw = bytes(self.pending[:cut])
            del self.pending[: cut + 1 if cut == end else cut]
            self.line(raw.decode("utf-8", "replace").rstrip("\r"))

    def finish(self) -> list[str]:
        if self.pending:
            self.line(self.pending.decode("utf-8", "replace"))
            self.pending.clear()
        tail, self.tail = self.tail, []
        return tail

    def quiet(self) -> None:
        if self.env.on_quiet is not None:
            self.env.on_quiet()


def compose_command() -> str:
    """Debian's docker-compose 1.29 (scripts/setup.sh installs it); settings.DOCKER_COMPOSE may name another."""
    return getattr(settings, "DOCKER_COMPOSE", "/usr/bin/docker-compose")


def project_name(submission_id: str) -> str:
    # docker-compose 1.29 keeps only lower-case letters, digits, '-' and '_' of a project name.
    return "lab" + re.sub(r"[^a-z0-9]", "", submission_id.lower())


class LabRun:
    """One lab on one sandbox daemon. Use it as a context manager inside the submission's BuildEnvironment."""

    def __init__(self, env: BuildEnvironment, kind: str, files: dict[str, bytes], command_seconds: float = 0):
        self.env = env
        self.kind = kind
        self.files = files
        self.command_seconds = command_seconds or DEFAULT_COMMAND_SECONDS
        self.project = project_name(env.submission_id) if kind == "compose" else ""
        # The value of the submission's label, as the BuildEnvironment labels its own builds and containers.
        self.label = env.label[LABEL]
        self.names = LabNames()
        self.built_images: set[str] = set()
        self.log = LabLog(env)
        self.folder: Path | None = None
        self.started_at = 0.0
        self.cleaned = False

    @property
    def client(self) -> docker.DockerClient:
        if self.env.client is None:
            raise RuntimeError("LabRun needs an open BuildEnvironment.")
        return self.env.client

    def __enter__(self) -> LabRun:
        if self.env.workdir is None:
            raise RuntimeError("LabRun needs an open BuildEnvironment.")
        self.folder = write_context(self.files, self.env.workdir / "lab")
        self.started_at = time.time()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self.kind == "compose" and self.folder is not None and os.path.exists(compose_command()):
                self.compose(
                    ["down", "--volumes", "--remove-orphans", "--timeout", "1"], COMPOSE_DOWN_SECONDS, quiet=True
                )
        finally:
            removed = remove_lab(self.client, self.objects())
            registry.empty(self.env.docker_host)
        if any(removed.values()):
            self.log.line(f"# removed what the lab made: {describe_counts(removed)}")

    def objects(self) -> LabObjects:
        volumes = set(self.names.volumes)
        networks = set(self.names.networks)
        if self.project:
            volumes = {f"{self.project}_{name}" for name in volumes}
            networks = {f"{self.project}_{name}" for name in networks} | {f"{self.project}_default"}
        return LabObjects(
            submission_id=self.label,
            containers=set(self.names.containers),
            volumes=volumes,
            networks=networks,
            images=set(self.names.images) | self.built_images,
            project=self.project,
            started_at=self.started_at,
        )

    # --- Running ------------------------------------------------------------------------------------------

    def remove_stale_names(self) -> None:
        # Once, before the lab's first command: what an interrupted earlier lab left under the same names.
        if not self.cleaned:
            remove_stale_names(self.client, self.objects())
            # The daemon's registry holds only the running lab's repositories (sandbox/registry.py).
            registry.empty(self.env.docker_host)
            self.cleaned = True

    def run_commands(self, plan: CommandPlan) -> LabResult:
        """Run each command in order; a failing command is shown and the next one runs, as in a terminal."""
        self.names = plan.names
        self.require_images(catalog_images_used(plan))
        if any(command.canonical in ("push", "pull") for command in plan.commands):
            self.require_registry()
        self.remove_stale_names()
        result = LabResult()
        deadline = time.monotonic() + settings.BUILD_TIMEOUT_SECONDS
        for index, command in enumerate(plan.commands):
            if time.monotonic() >= deadline:
                result.skipped = len(plan.commands) - index
                self.log.line(f"# the lab ran out of time; {result.skipped} command(s) did not run")
                break
            timeout = settings.BUILD_TIMEOUT_SECONDS if command.is_build else self.command_seconds
            argv = [settings.DOCKER_CLI, *command.path, *self.added_flags(command), *command.args]
            step = self.run_step(command.line, command.text, argv, timeout)
            if step.timed_out and command.is_build:
                # As for any build: nothing of a cancelled build may keep running on the daemon.
                stop_leftover_build(self.env.docker_host)
            result.steps.append(step)
        return result

    def added_flags(self, command: LabCommand) -> list[str]:
        label = ["--label", f"{LABEL}={self.label}"]
        if command.canonical in ("run", "create"):
            # --pull never: an image the daemon lacks is an error at once, never a lookup of a registry.
            return [*label, "--pull", "never", "--security-opt", "no-new-privileges", *LOG_OPTIONS]
        if command.canonical in ("volume create", "network create"):
            return label
        if command.canonical == "build":
            return [*label, "--network", "none", "--progress", "plain"]
        if command.canonical in LABEL_FILTERED:
            # Docker ANDs this with the learner's own filters, so they only ever see their own lab's things.
            return ["--filter", f"label={LABEL}={self.label}"]
        return []

    def run_step(self, line: int, shown: str, argv: list[str], timeout: float) -> StepResult:
        self.log.line(f"$ {shown}")
        self.log.finish()  # the tail kept for the verdicts is the command's output, not the command
        started = time.monotonic()
        command = [SETPRIV, "--pdeathsig", "KILL", "--", *argv] if os.path.exists(SETPRIV) else argv
        # The lab's folder is the working directory: `docker build .` and `docker cp app.conf ...` mean its files.
        folder = str(self.folder_path())
        code, timed_out = run_streaming(command, self.cli_env(), timeout, self.log.feed, self.log.quiet, cwd=folder)
        tail = self.log.finish()
        if timed_out:
            self.log.line(f"# stopped after {timeout:g} s: the command did not finish in time")
        elif code != 0:
            self.log.line(f"# exit code {code}")
        return StepResult(line, shown, code, round(time.monotonic() - started, 2), timed_out, tail)

    def cli_env(self) -> dict[str, str]:
        folder = self.folder_path()
        home = folder.parent / "home"
        tools = home / "bin"
        if not tools.exists():
            (home / ".docker").mkdir(parents=True)
            tools.mkdir()
            # docker-compose runs `docker build`; this makes it the BuildKit-capable client named in settings.
            (tools / "docker").symlink_to(settings.DOCKER_CLI)
        env = {
            "PATH": f"{tools}:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(home),
            "DOCKER_CONFIG": str(home / ".docker"),
            "DOCKER_HOST": self.env.docker_host,
            "DOCKER_BUILDKIT": "1",
            "COMPOSE_DOCKER_CLI_BUILD": "1",
            "LANG": "C.UTF-8",
        }
        for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        return env

    def folder_path(self) -> Path:
        if self.folder is None:
            raise RuntimeError("LabRun must be used in a `with` block.")
        return self.folder

    # --- Compose --------------------------------------------------------------------------------------------

    def compose_up(self, plan: ComposePlan) -> LabResult:
        self.names = LabNames(volumes=set(plan.volumes), networks=set(plan.networks))
        self.built_images = {f"{self.project}_{service}" for service in plan.builds}
        self.built_images |= {plan.images[service] for service in plan.builds if service in plan.images}
        self.write_override(plan)
        self.require_images([image for service, image in plan.images.items() if service not in plan.builds])
        self.remove_stale_names()
        step = self.compose(["up", "--detach", "--no-color"], settings.BUILD_TIMEOUT_SECONDS)
        return LabResult([step])

    def compose(self, args: list[str], timeout: float, quiet: bool = False, by_grader: bool = False) -> StepResult:
        folder = self.folder_path()
        if not os.path.exists(compose_command()):
            raise SandboxError(
                "compose_missing",
                "Compose labs cannot run on this server right now (docker-compose is not installed); please tell "
                "your instructor.",
            )
        # An empty environment file: a `.env` among the lab's files must not set docker-compose's own options.
        no_env = folder.parent / "compose.env"
        no_env.touch()
        argv = [
            compose_command(), "--ansi", "never",
            "--env-file", str(no_env), "--project-name", self.project, "--project-directory", str(folder),
            "--file", str(folder / COMPOSE_FILE), "--file", str(folder.parent / "dockyard-override.yaml"), *args,
        ]  # fmt: skip
        shown = "docker-compose " + " ".join(args) + ("    # run by the checker" if by_grader else "")
        if not quiet:
            return self.run_step(1, shown, argv, timeout)
        code, timed_out = run_streaming(argv, self.cli_env(), timeout, lambda chunk: None, cwd=str(folder))
        return StepResult(1, shown, code, 0.0, timed_out)

    def write_override(self, plan: ComposePlan) -> None:
        labels = {LABEL: self.label}
        services: dict[str, Any] = {}
        for name in plan.services:
            service: dict[str, Any] = {
                "labels": labels,
                "security_opt": ["no-new-privileges:true"],
                "logging": {"driver": "json-file", "options": {"max-size": "1m", "max-file": "1"}},
            }
            if name in plan.builds:
                service["build"] = {"network": "none", "labels": labels}
            services[name] = service
        override: dict[str, Any] = {"services": services}
        if "version" in plan.data:
            override = {"version": plan.data["version"], **override}
        if plan.volumes:
            override["volumes"] = {name: {"labels": labels} for name in plan.volumes}
        override["networks"] = {name: {"labels": labels} for name in ["default", *plan.networks]}
        (self.folder_path().parent / "dockyard-override.yaml").write_text(yaml.safe_dump(override, sort_keys=False))

    # --- Looking at the state the lab left ----------------------------------------------------------------

    def container(self, name: str) -> dict | None:
        """`docker inspect` of the lab's container (commands) or the service's first container (Compose)."""
        with translate_docker_errors(f"look for the container {name}"):
            if not self.project:
                try:
                    return self.client.api.inspect_container(name)
                except docker.errors.NotFound:
                    return None
            filters = {"label": [f"{COMPOSE_PROJECT}={self.project}", f"com.docker.compose.service={name}"]}
            found = self.client.api.containers(all=True, filters=filters)
        if not found:
            return None
        first = sorted(found, key=lambda item: item.get("Created", 0))[0]
        return self.client.api.inspect_container(first["Id"])

    def container_names(self) -> list[str]:
        """The names of the lab's containers (services, in a Compose lab), for evidence."""
        with translate_docker_errors("list the lab's containers"):
            filters = {"label": f"{COMPOSE_PROJECT}={self.project}" if self.project else f"{LABEL}={self.label}"}
            found = self.client.api.containers(all=True, filters=filters)
        if self.project:
            return sorted({item["Labels"].get("com.docker.compose.service", "?") for item in found})
        return sorted(name.lstrip("/") for item in found for name in item.get("Names", [])[:1])

    def image(self, reference: str) -> dict | None:
        """`docker image inspect` of a local image, or None."""
        with translate_docker_errors(f"look for the image {reference}"):
            try:
                return self.client.api.inspect_image(reference)
            except docker.errors.NotFound:
                return None

    def registry_tags(self, repository: str) -> dict[str, str] | None:
        """{tag: digest} of a repository in the daemon's own registry (None if the lab pushed none there)."""
        return registry.tags(self.env.docker_host, repository)

    def registry_repositories(self) -> list[str]:
        return registry.repositories(self.env.docker_host)

    def volume(self, name: str) -> dict | None:
        with translate_docker_errors(f"look for the volume {name}"):
            try:
                return self.client.api.inspect_volume(self.docker_name(name))
            except docker.errors.NotFound:
                return None

    def docker_name(self, name: str) -> str:
        """The daemon's name for a lab's volume or network (Compose prefixes them with the project)."""
        return f"{self.project}_{name}" if self.project else name

    def lab_name(self, docker_name: str) -> str:
        """The name the learner wrote, from the daemon's name."""
        return docker_name.removeprefix(f"{self.project}_") if self.project else docker_name

    def logs(self, container: dict, limit: int = 64 * 1024) -> str:
        with translate_docker_errors("read a container's output"):
            data = self.client.api.logs(container["Id"], stdout=True, stderr=True)
        return data[-limit:].decode("utf-8", "replace")

    def probe(
        self,
        command: list[str],
        *,
        namespace_of: dict | None = None,
        network: str | None = None,
        volume: str | None = None,
        environment: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> tuple[int | None, str]:
        """Run the grader's probe image: (exit code, output), or (None, output so far) when it timed out."""
        options: dict[str, Any] = {
            "labels": {LABEL: self.label, "dockyard.probe": "1"},
            "environment": environment or {},
            "mem_limit": PROBE_MEMORY,
            "memswap_limit": PROBE_MEMORY,
            "pids_limit": PROBE_PIDS,
            "security_opt": ["no-new-privileges"],
            "log_config": LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
            "network_mode": "none",
        }
        if namespace_of is not None:
            options["network_mode"] = f"container:{namespace_of['Id']}"
        elif network is not None:
            options["network_mode"] = self.docker_name(network)
        if volume is not None:
            options["volumes"] = {self.docker_name(volume): {"bind": "/mnt/volume", "mode": "ro"}}
        with translate_docker_errors("start the checker's probe"):
            probe = self.client.containers.create(PROBE_IMAGE, command, **options)
        try:
            with translate_docker_errors("start the checker's probe"):
                probe.start()
            try:
                code = probe.wait(timeout=timeout).get("StatusCode")
            except requests.exceptions.RequestException:
                code = None
            with translate_docker_errors("read the checker's probe"):
                output = probe.logs(stdout=True, stderr=True)[-16384:].decode("utf-8", "replace")
            return code, output
        finally:
            try:
                probe.remove(force=True, v=True)
            except (docker.errors.DockerException, requests.exceptions.RequestException):
                pass  # removed with the lab's label at the end anyway

    def require_probe_image(self) -> None:
        self.require_images([PROBE_IMAGE], "The checker's image")

    def require_registry(self) -> None:
        if not registry.has_registry(self.env.docker_host):
            raise SandboxError(
                "registry_missing",
                "This sandbox has no registry to push to (docker-registry is not running next to its daemon). This "
                "is a problem on our side, not in your lab; please tell your instructor.",
            )

    def require_images(self, references: list[str], what: str = "The image") -> None:
        """Fail plainly when an image the lab needs is not loaded: the daemon would otherwise try a registry."""
        for reference in dict.fromkeys(references):
            with translate_docker_errors(f"look for the image {reference}"):
                try:
                    self.client.images.get(reference)
                except docker.errors.ImageNotFound:
                    raise SandboxError(
                        "base_image_missing",
                        f"{what} {reference} is not loaded in this sandbox. This is a problem on our side, not in "
                        "your lab; please tell your instructor.",
                    ) from None


def catalog_images_used(plan: CommandPlan) -> list[str]:
    """The catalog images a command lab starts containers from (its own builds come from its files)."""
    used = []
    for command in plan.commands:
        if command.canonical in ("run", "create", "tag", "history") and command.parsed.arguments:
            reference = command.parsed.arguments[0]
            if is_catalog_image(reference):
                used.append(reference)
    return used


def describe_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind if count != 1 else kind[:-1]}" for kind, count in counts.items() if count)
