"""One submission's way through the sandbox: build, checks, result, every step published as an event."""

from __future__ import annotations

import logging
import time

from django.db import transaction
from django.utils import timezone

from .events import publish
from .models import Submission
from .runner import BuildEnvironment, SandboxError

logger = logging.getLogger(__name__)


class LogBatcher:
    """Groups build output into a few events a second, so a flood of lines is not a flood of messages."""

    def __init__(self, submission_id: int, max_bytes: int = 32 * 1024, max_delay: float = 0.15):
        self.submission_id = submission_id
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
            publish(self.submission_id, "log", text=text)


class SubmissionPipeline:
    def __init__(self, submission: Submission, docker_host: str):
        self.submission = submission
        self.docker_host = docker_host
        self.log = LogBatcher(submission.pk)

    def run(self) -> None:
        submission = self.submission
        publish(submission.pk, "status", status="running", message="Building in the sandbox…")
        try:
            with BuildEnvironment(self.docker_host, submission.pk, on_log=self.log.add, on_quiet=self.log.flush) as env:
                outcome = self._grade(env)
        except SandboxError as error:
            self.log.flush()
            self.finish(Submission.Status.ERROR, None, error.message, {"reason": error.reason})
            return
        self.log.flush()
        status = Submission.Status.PASSED if outcome["passed"] else Submission.Status.FAILED
        self.finish(status, outcome.get("score"), outcome["message"], outcome)

    def _grade(self, env: BuildEnvironment) -> dict:
        from .grading import grade_submission

        def on_check(verdict: dict) -> None:
            self.log.flush()
            # An event's own "type" is "check"; the verdict's kind of check travels as check_type.
            fields = {("check_type" if key == "type" else key): value for key, value in verdict.items()}
            publish(self.submission.pk, "check", **fields)

        return grade_submission(self.submission.exercise, self.submission.files, env, on_check=on_check)

    def finish(self, status: str, score: int | None, message: str, result: dict) -> None:
        submission = self.submission
        with transaction.atomic():
            Submission.objects.filter(pk=submission.pk).update(
                status=status, score=score, message=message, result=result, finished_at=timezone.now()
            )
            if submission.exercise_id and status != Submission.Status.ERROR:
                from lessons.models import ExerciseProgress

                ExerciseProgress.record_attempt(
                    submission.user, submission.exercise, score or 0, status == Submission.Status.PASSED
                )
        publish(
            submission.pk,
            "result",
            status=status,
            score=score,
            message=message,
            checks=result.get("checks", []),
            image=result.get("image"),
            build=result.get("build"),
        )
