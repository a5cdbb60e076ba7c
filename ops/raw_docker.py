"""The limit for the benchmark: the same work as Dockyard's, done by hand with the docker CLI on the same daemon.

`RawDocker.build` is `docker build` read as a stream, so the raw build's own first output line is timed as the
learner's is. `RawDocker.grade_first_dockerfile` does what the grader does for the `first-dockerfile` exercise,
as plain CLI calls: build, inspect the image and read its history (the working directory, exec-form CMD and
layer checks read these), create a container and copy /app/app.py out of it (the files check), and run the
image with the limits every sandbox container gets (the command check, whose output is compared).
Nothing here is Dockyard code, so the comparison is fair: it is what a person with a terminal would type.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

# The limits every container of the sandbox gets (sandbox/environment.py), so the raw run does the same work.
CONTAINER_LIMITS = [
    "--network", "none", "--memory", "512m", "--memory-swap", "512m", "--pids-limit", "256",
    "--security-opt", "no-new-privileges", "--log-opt", "max-size=1m", "--log-opt", "max-file=1",
]  # fmt: skip


@dataclass
class RawBuild:
    """One raw `docker build`: seconds to its first output line and to its end, and the image it made."""

    first_line: float
    seconds: float
    image_id: str


@dataclass
class RawGrading:
    """One raw build plus the checks of `first-dockerfile`, each check's seconds by its id."""

    build: RawBuild
    checks: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    output: str = ""


class RawDocker:
    """The docker CLI (the BuildKit-capable one Dockyard uses) talking to one sandbox daemon."""

    def __init__(self, docker_host: str):
        self.docker_host = docker_host
        self.env = {**os.environ, "DOCKER_BUILDKIT": "1", "DOCKER_HOST": docker_host}

    def build(self, files: dict[str, str], tag: str) -> RawBuild:
        """`docker build --network none --progress=plain`, its output read line by line as it comes."""
        with tempfile.TemporaryDirectory(prefix="dockyard-raw-") as context:
            for name, text in files.items():
                Path(context, name).parent.mkdir(parents=True, exist_ok=True)
                Path(context, name).write_text(text)
            iidfile = Path(context, ".image-id")
            command = [settings.DOCKER_CLI, "build", "--network", "none", "--progress=plain"]
            command += ["-t", tag, "--iidfile", str(iidfile), context]
            started = time.monotonic()
            first_line = None
            with subprocess.Popen(
                command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            ) as process:
                assert process.stdout is not None
                for _line in iter(process.stdout.readline, b""):
                    if first_line is None:
                        first_line = time.monotonic() - started
                code = process.wait(timeout=600)
            seconds = time.monotonic() - started
            if code != 0:
                raise RuntimeError(f"raw docker build failed with exit code {code}")
            return RawBuild(first_line if first_line is not None else seconds, seconds, iidfile.read_text().strip())

    def grade_first_dockerfile(self, files: dict[str, str], tag: str) -> RawGrading:
        """Build, then the checks of `first-dockerfile` as the grader does them, one docker CLI call each."""
        started = time.monotonic()
        graded = RawGrading(self.build(files, tag))
        image = graded.build.image_id
        graded.checks["inspect"] = self._timed("image", "inspect", image)
        graded.checks["history"] = self._timed("history", "--no-trunc", image)
        mark = time.monotonic()
        container = self.docker("create", *CONTAINER_LIMITS, image, "true").strip()
        try:
            self.docker("cp", f"{container}:/app/app.py", "-")
        finally:
            self.docker("rm", "-f", container)
        graded.checks["app-copied"] = time.monotonic() - mark
        mark = time.monotonic()
        graded.output = self.docker("run", "--rm", *CONTAINER_LIMITS, image)
        graded.checks["prints-greeting"] = time.monotonic() - mark
        graded.seconds = time.monotonic() - started
        return graded

    def remove(self, *tags: str) -> None:
        self.docker("rmi", "-f", *tags)

    def docker(self, *args: str) -> str:
        result = subprocess.run(
            [settings.DOCKER_CLI, *args], env=self.env, check=True, capture_output=True, timeout=600, text=True
        )
        return result.stdout

    def _timed(self, *args: str) -> float:
        started = time.monotonic()
        self.docker(*args)
        return time.monotonic() - started
