"""One submission's way through the sandbox: build, checks, result, every step published as an event."""

from __future__ import annotations

import logging
import time

from django.conf import settings

from .cleanup import remove_leftovers
from .clients import SandboxError
from .environment import BuildEnvironment
from .grading import grade_submission
from .labs.plan import LAB_KINDS, kind_of
from .models import Submission

logger = logging.getLogger(__name__)


class LogBatcher:
    """Groups build output into a few events a second, so a flood of lines is not a flood of messages."""

    def __init__(self, submission: Submission, max_bytes: int = 32 * 1024, max_delay: float = 0.15):
        self.submission = submission
        self.max_bytes = max_bytes
        self.max_delay = max_delay
        self.lines: list[str] = []
        self.size = 0
        self.started = time.monotonic()

    def add(self, line: str) -> None:
        if not self.lines:
            self.started = time.monotonic()
        self.lines.append(line)
        self.size += len(line) + 1
        if self.size >= self.max_bytes or time.monotonic() - self.started >= self.max_delay:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            text = "\n".join(self.lines)
            self.lines, self.size = [], 0
            self.submission.publish("log", text=text)


class SubmissionPipeline:
    def __init__(self, submission: Submission, docker_host: str):
        self.submission = submission
        self.docker_host = docker_host
        self.log = LogBatcher(submission)

    def run(self) -> None:
        remove_old_leftovers(self.docker_host)
        lab = kind_of(self.submission.exercise) in LAB_KINDS
        message = "Running your lab in the sandbox…" if lab else "Building in the sandbox…"
        self.submission.publish("status", status="running", message=message)
        try:
            with BuildEnvironment(
                self.docker_host, self.submission.pk, on_log=self.log.add, on_quiet=self.log.flush
            ) as env:
                outcome = self._grade(env)
        except SandboxError as error:
            self.log.flush()
            self.submission.fail(error.message, reason=error.reason)
            return
        self.log.flush()
        self.submission.finish(outcome)

    def _grade(self, env: BuildEnvironment) -> dict:
        return grade_submission(self.submission.exercise, self.submission.files, env, on_check=self._publish_check)

    def _publish_check(self, verdict: dict) -> None:
        self.log.flush()
        # An event's own "type" is "check"; the verdict's kind of check travels as check_type.
        fields = {("check_type" if key == "type" else key): value for key, value in verdict.items()}
        self.submission.publish("check", **fields)


def remove_old_leftovers(docker_host: str) -> None:
    """Remove containers and images that outlived their build (a worker died) from one daemon."""
    try:
        remove_leftovers(docker_host, older_than_seconds=settings.BUILD_HARD_TIME_LIMIT + 60)
    except SandboxError as error:
        logger.warning("Could not remove leftovers on %s: %s", docker_host, error.message)
