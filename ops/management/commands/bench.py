"""Benchmark: Dockyard's whole pipeline against raw `docker build` / `docker run` on the same daemon.

It starts its own web server and worker (on one sandbox daemon), submits the same Dockerfiles a learner
would, and times them next to the same work done directly with the docker CLI. It prints medians and
ratios and asserts nothing: these machines are noisy, so the numbers are for reading, not for tests.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from websockets.sync.client import connect

from ops.livestack import Learner, LiveStack
from sandbox.daemons import docker_host_for


def dockerfile(token: str) -> str:
    # A unique token defeats the build cache, so both sides do the same work every time.
    return (
        "FROM busybox:latest\n"
        f"RUN echo bench-{token} && for n in $(seq 1 200); do echo line $n; done\n"
        'CMD ["echo", "hello from the benchmark"]\n'
    )


class RawDocker:
    """The same work done directly with the BuildKit docker CLI on the same daemon."""

    def __init__(self, docker_host: str):
        self.docker_host = docker_host
        self.env = {**os.environ, "DOCKER_BUILDKIT": "1", "DOCKER_HOST": docker_host}

    def build(self, files: dict[str, str], tag: str) -> float:
        with tempfile.TemporaryDirectory() as context:
            for name, text in files.items():
                Path(context, name).parent.mkdir(parents=True, exist_ok=True)
                Path(context, name).write_text(text)
            started = time.monotonic()
            self._docker("build", "--network", "none", "--progress=plain", "-t", tag, context)
            return time.monotonic() - started

    def run(self, tag: str) -> float:
        started = time.monotonic()
        self._docker("run", "--rm", "--network", "none", tag)
        return time.monotonic() - started

    def remove(self, tag: str) -> None:
        self._docker("rmi", "-f", tag)

    def _docker(self, *args: str) -> None:
        subprocess.run([settings.DOCKER_CLI, *args], env=self.env, check=True, capture_output=True, timeout=600)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Command(BaseCommand):
    help = "Time Dockyard's build pipeline against raw docker build/run of the same work on the same daemon."

    def add_arguments(self, parser):
        parser.add_argument("--rounds", type=int, default=5, help="sequential rounds for latency (default 5)")
        parser.add_argument("--burst", type=int, default=20, help="submissions sent at once (default 20)")

    def handle(self, *args, rounds: int, burst: int, **options):
        raw = RawDocker(docker_host_for(0))
        with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as workdir:
            self.stdout.write("Starting a web server and a worker on sandbox daemon 0…")
            stack = LiveStack(Path(workdir)).start(concurrency=1, extra_env={"SANDBOX_COUNT": "1"})
            try:
                self.latency(stack, raw, rounds)
                self.exercise(stack, raw, rounds)
                self.throughput(stack, raw, burst)
            finally:
                stack.stop()

    def latency(self, stack: LiveStack, raw: RawDocker, rounds: int) -> None:
        learner = Learner(stack, f"bench-{uuid.uuid4().hex[:8]}")
        first_log, final, raw_build = [], [], []
        for _ in range(rounds):
            token = uuid.uuid4().hex
            tag = f"dockyard-bench/raw-{token[:12]}"
            raw_build.append(raw.build({"Dockerfile": dockerfile(token)}, tag))
            raw.remove(tag)
            first, last = self.time_submission(learner, {"Dockerfile": dockerfile(uuid.uuid4().hex)})
            first_log.append(first)
            final.append(last)
        self.stdout.write("")
        self.stdout.write(f"Playground build, median of {rounds} rounds (busybox, one uncached RUN step, 200 lines):")
        self.row("raw docker build (BuildKit)", median(raw_build))
        self.row("Dockyard: submit → first log line at a WebSocket", median(first_log), median(raw_build), "raw build")
        self.row("Dockyard: submit → final event", median(final), median(raw_build), "raw build")

    def exercise(self, stack: LiveStack, raw: RawDocker, rounds: int) -> None:
        """A graded exercise (lint, build, image and runtime checks) against raw build + run of the same files."""
        slug = "first-dockerfile"
        folder = next(settings.LESSONS_CONTENT_DIR.glob(f"*/exercises/{slug}/solution"))
        files = {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()}
        learner = Learner(stack, f"bench-{uuid.uuid4().hex[:8]}")
        raw_times, graded = [], []
        for _ in range(rounds):
            tag = f"dockyard-bench/exercise-{uuid.uuid4().hex[:12]}"
            raw_times.append(raw.build(files, tag) + raw.run(tag))
            raw.remove(tag)
            graded.append(self.time_submission(learner, files, exercise=slug)[1])
        self.stdout.write("")
        self.stdout.write(f"Graded exercise '{slug}', median of {rounds} rounds (python:3.11-slim, 5 checks):")
        self.row("raw docker build + docker run", median(raw_times))
        self.row("Dockyard: submit → final event (graded)", median(graded), median(raw_times), "raw build + run")

    def time_submission(self, learner: Learner, files: dict, exercise: str | None = None) -> tuple[float, float]:
        started = time.monotonic()
        submission_id = learner.submit(files, exercise=exercise).json()["id"]
        first_log = None
        url = f"{learner.stack.ws_url}/ws/submissions/{submission_id}/"
        with connect(url, additional_headers=learner.websocket_headers()) as ws:
            while True:
                event = json.loads(ws.recv(timeout=300))
                if event["type"] == "log" and first_log is None:
                    first_log = time.monotonic() - started
                if event["type"] == "result":
                    return first_log or float("nan"), time.monotonic() - started

    def throughput(self, stack: LiveStack, raw: RawDocker, burst: int) -> None:
        texts = [dockerfile(uuid.uuid4().hex) for _ in range(burst)]
        started = time.monotonic()
        for n, text in enumerate(texts):
            raw.build({"Dockerfile": text}, f"dockyard-bench/burst-{n}")
        raw_seconds = time.monotonic() - started
        for n in range(burst):
            raw.remove(f"dockyard-bench/burst-{n}")

        learners = [Learner(stack, f"burst-{uuid.uuid4().hex[:8]}") for _ in range(burst)]
        texts = [dockerfile(uuid.uuid4().hex) for _ in range(burst)]
        started = time.monotonic()
        ids = [learner.submit({"Dockerfile": text}).json()["id"] for learner, text in zip(learners, texts, strict=True)]
        threads = [
            threading.Thread(target=learner.wait_until_finished, args=(sid, 900))
            for learner, sid in zip(learners, ids, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        pipeline_seconds = time.monotonic() - started
        self.stdout.write("")
        self.stdout.write(f"Throughput, {burst} submissions at once on one daemon (one build at a time):")
        self.row(f"raw docker build ×{burst}, one after another", raw_seconds)
        self.row(f"Dockyard: {burst} submissions, all finished", pipeline_seconds, raw_seconds, "raw")
        self.row("Dockyard: builds per minute", 60 * burst / pipeline_seconds, unit="")

    def row(self, label: str, value: float, base: float | None = None, base_name: str = "", unit: str = "s") -> None:
        ratio = f"   {value / base:5.2f}× {base_name}" if base else ""
        self.stdout.write(f"  {label:<52} {value:8.2f}{unit}{ratio}")
