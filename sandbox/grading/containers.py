"""The Docker operations the checks need, on top of sandbox/environment.py's BuildEnvironment.

The checks talk to this small interface only, so unit tests can replace it with a fake. Containers are made
with the environment's own container options (network none, limits, labels, no-new-privileges), so every
container a check starts obeys the same rules as any other sandbox container, and the environment removes
them all when the submission is done. What a check observes of a running app (its answers, its sockets, its
PID 1) is read with the grader's own tools (`start_probe`, `main_command`), never with the learner's image.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import time
from collections.abc import Iterator
from typing import Any

import docker.errors

from sandbox.buildkit import BuildResult
from sandbox.clients import SandboxError, translate_docker_errors
from sandbox.environment import BuildEnvironment, Hardening, RunResult

NANOSECONDS = 1_000_000_000
# The most of one file the grader reads back from an image (a small proof or marker file).
READ_FILE_LIMIT = 64 * 1024


class Sandbox:
    """What grading does with Docker: build, inspect, run, exec, stop, look for files."""

    def __init__(self, env: BuildEnvironment):
        self.env = env
        # Build secrets (id -> value) every build of this grading is given; set by the grader.
        self.build_secrets: dict[str, str] = {}

    # --- Builds and facts ------------------------------------------------------------------------------

    def build(self, files: dict[str, bytes], tag_suffix: str = "", quiet: bool = False) -> BuildResult:
        """Build in the same daemon (so its cache is warm). quiet=True keeps the output out of the log."""
        secrets = self.build_secrets or None
        if not quiet:
            return self.env.build(files, tag_suffix=tag_suffix, secrets=secrets)
        # The reference solution is built for its size only: its steps must not reach the learner's log.
        on_log = self.env.on_log
        self.env.on_log = lambda line: None
        try:
            return self.env.build(files, tag_suffix=tag_suffix, secrets=secrets)
        finally:
            self.env.on_log = on_log

    def log(self, line: str) -> None:
        self.env.on_log(line)

    def facts(self, image: str) -> dict[str, Any]:
        return self.env.image_facts(image)

    # --- Containers ------------------------------------------------------------------------------------

    def create(
        self,
        image: str,
        command: list[str] | None = None,
        *,
        replace_entrypoint: bool = False,
        environment: dict[str, str] | None = None,
        health_interval: float | None = None,
    ):
        # Only the interval is given: the daemon keeps the image's HEALTHCHECK command and other settings.
        healthcheck = {"Interval": int(health_interval * NANOSECONDS)} if health_interval else None
        return self.env.create_container(
            image,
            command,
            environment=environment,
            entrypoint=[""] if replace_entrypoint else None,
            healthcheck=healthcheck,
        )

    def start(self, image: str, health_interval: float | None = None):
        """Start the image's default command in the background."""
        container = self.create(image, health_interval=health_interval)
        with translate_docker_errors("start a container"):
            container.start()
        return container

    def run(
        self, image: str, command: list[str] | None, environment: dict[str, str] | None, timeout: float
    ) -> RunResult:
        """Run a command (or the default one, when None) to its end; stdout and stderr kept apart."""
        return self.env.run_to_end(
            image, command, environment=environment, timeout=timeout, replace_entrypoint=command is not None
        )

    def run_args(self, image: str, args: list[str], environment: dict[str, str] | None, timeout: float) -> RunResult:
        """`docker run IMAGE ARGS...`: the arguments replace CMD and go to the image's ENTRYPOINT, if it has one."""
        return self.env.run_to_end(image, args, environment=environment, timeout=timeout)

    def run_hardened(self, image: str, hardening: Hardening, timeout: float) -> RunResult:
        """The image's default command to its end, with a hardened deployment's restrictions."""
        return self.env.run_to_end(image, None, timeout=timeout, hardened=hardening)

    def exec(self, container, command: list[str], timeout: float) -> tuple[int | None, str]:
        """Run a command in a running container: (exit code, output), or (None, why) when it timed out or the
        container is no longer running."""
        try:
            return self.env.exec(container, command, timeout=timeout)
        except SandboxError as error:
            if error.reason == "timeout":
                return None, error.message
            # The container stopped between the check's last look at it and this command. Docker would only
            # say "is not running"; the check's next look at the container says why it stopped, in words.
            if not self.state(container).get("Running"):
                return None, "the container is not running"
            raise

    def start_probe(self, container):
        """The grader's own probe container in `container`'s network namespace (see BuildEnvironment.start_probe)."""
        return self.env.start_probe(container)

    def main_command(self, container) -> str | None:
        """PID 1's command line, read by the daemon, not by a tool in the learner's image."""
        return self.env.main_command(container)

    def state(self, container) -> dict:
        return self.env.container_state(container)

    def logs(self, container) -> str:
        return self.env.container_output(container, stdout=True, stderr=True)

    def stop(self, container, timeout: float) -> float:
        """`docker stop -t timeout`; returns how long it took in seconds."""
        started = time.monotonic()
        with translate_docker_errors("stop a container"):
            container.stop(timeout=int(timeout))
        return time.monotonic() - started

    def remove(self, container) -> None:
        self.env.remove_container(container)

    def put_file(self, container, path: str, content: bytes) -> None:
        """Write a file into a container through the Docker API (no tool of the image runs)."""
        folder, name = posixpath.split(path)
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            entry = tarfile.TarInfo(name)
            entry.size, entry.mode, entry.mtime = len(content), 0o644, int(time.time())
            tar.addfile(entry, io.BytesIO(content))
        with translate_docker_errors(f"write {path} into the container"):
            if not container.put_archive(folder or "/", archive.getvalue()):
                raise SandboxError("docker_error", f"Docker did not write {path} into the container.")

    def read_file(self, image: str, path: str) -> bytes | None:
        """A small file's content in the image (at most READ_FILE_LIMIT bytes), or None when it is not there."""
        container = self.create(image, ["true"])
        try:
            with translate_docker_errors(f"read {path} from the image"):
                try:
                    stream, _ = container.get_archive(path)
                except docker.errors.NotFound:
                    return None
                with tarfile.open(fileobj=ChunkReader(stream), mode="r|") as tar:
                    for entry in tar:
                        found = tar.extractfile(entry) if entry.isfile() else None
                        return found.read(READ_FILE_LIMIT) if found is not None else None
            return None
        finally:
            self.remove(container)

    def image_archive(self, image: str) -> Iterator[bytes]:
        """The image as `docker save` writes it: every layer's files, the configuration and the history."""
        return self.env.image_archive(image)

    def filesystem(self, image: str) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
        """Every entry of the image's final filesystem, as `docker export` of a created container lists it."""
        container = self.create(image, ["true"])
        try:
            with translate_docker_errors("read the image's files"):
                with tarfile.open(fileobj=ChunkReader(container.export()), mode="r|") as tar:
                    for entry in tar:
                        yield entry, tar
        finally:
            self.remove(container)

    def paths_exist(self, image: str, paths: list[str]) -> dict[str, bool]:
        """Which paths exist in the image, read from a container that is created but never started."""
        container = self.create(image, ["true"])
        try:
            return {path: self._exists(container, path) for path in paths}
        finally:
            self.remove(container)

    def _exists(self, container, path: str) -> bool:
        with translate_docker_errors(f"look for {path} in the image"):
            try:
                stream, _ = container.get_archive(path)
            except docker.errors.NotFound:
                return False
            stream.close()  # only the existence matters; do not read the archive
            return True


class ChunkReader(io.RawIOBase):
    """A file-like reader over an iterator of byte chunks (a Docker API stream), for tarfile's stream mode."""

    def __init__(self, chunks):
        self.chunks = iter(chunks)
        self.pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            try:
                self.pending = memoryview(next(self.chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size
