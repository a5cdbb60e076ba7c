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
from .leases import Lease
from .models import Submission

logger = logging.getLogger(__name__)


class LogBatcher:
    """Groups build output into a few events a second, so a flood of lines is not a flood of messages.

    The very first line is sent at once: it is the learner's sign that the build has started, and waiting for
    company would only delay it.
    """

    def __init__(self, submission: Submission, max_bytes: int = 32 * 1024, max_delay: float = 0.15):
        self.submission = submission
        self.max_bytes = max_bytes
        self.max_delay = max_delay
        self.lines: list[str] = []
        self.size = 0
        self.started = time.monotonic()
        self.sent_any = False

    def add(self, line: str) -> None:
        self.submission.mark("first_log")
        if not self.lines:
            self.started = time.monotonic()
        self.lines.append(line)
        self.size += len(line) + 1
        if not self.sent_any or self.size >= self.max_bytes or time.monotonic() - self.started >= self.max_delay:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            text = "\n".join(self.lines)
            self.lines, self.size, self.sent_any = [], 0, True
            self.submission.publish("log", text=text)


class SandboxLost(Exception):
    """The build could not finish because its sandbox went away: the daemon stopped, or the lease was lost.

    Not the learner's fault: the task retries it once elsewhere (Submission.retry_elsewhere).
    """

    def __init__(self, docker_host: str, daemon_died: bool, detail: str):
        super().__init__(detail)
        self.docker_host = docker_host
        self.daemon_died = daemon_died


class SubmissionPipeline:
    def __init__(self, submission: Submission, lease: Lease):
        self.submission = submission
        self.lease = lease
        self.docker_host = lease.docker_host
        self.log = LogBatcher(submission)

    def run(self) -> None:
        lab = kind_of(self.submission.exercise) in LAB_KINDS
        message = "Running your lab in the sandbox…" if lab else "Building in the sandbox…"
        try:
            with BuildEnvironment(
                self.docker_host,
                self.submission.pk,
                on_log=self.log.add,
                on_quiet=self.log.flush,
                still_ours=self.lease.is_valid,
                on_stage=self.submission.mark,
            ) as env:
                # Opening the environment started emptying the daemon's cache mounts, the longest step before a
                # build: the learner is told the build has started while it runs.
                self.submission.publish("status", status="running", message=message)
                # A lease that is lost stops this build at once, before anything else can be placed on the daemon.
                self.lease.on_lost(env.stop)
                outcome = self._grade(env)
                # The learner gets the verdict before the daemon is cleaned up: removing the submission's image
                # and containers takes a moment nobody needs to wait for. The lease is held until the cleanup is
                # done (the caller releases it after run), so nothing else is placed on the daemon meanwhile.
                self._conclude(outcome)
        except SandboxError as error:
            self.log.flush()
            self._raise_if_lost(error.reason == "daemon_unavailable", error.message)
            self.submission.fail(error.message, reason=error.reason)
            return
        finally:
            self._note_cleaned_up()

    def _note_cleaned_up(self) -> None:
        # Timings are for reading; failing to store them must not change what happens to the build.
        self.submission.mark("cleaned_up")
        try:
            self.submission.save_timings()
        except Exception:  # noqa: BLE001 - see above
            logger.warning("Could not store the stage timings of submission %s", self.submission.pk, exc_info=True)

    def _conclude(self, outcome: dict) -> None:
        self.log.flush()
        build = outcome.get("build") or {}
        self._raise_if_lost(build.get("reason") == "daemon_unavailable", build.get("message", ""))
        self.submission.finish(outcome)

    def _raise_if_lost(self, daemon_unavailable: bool, detail: str) -> None:
        if self.lease.lost.is_set():
            raise SandboxLost(self.docker_host, daemon_died=False, detail=self.lease.lost_reason)
        if daemon_unavailable:
            raise SandboxLost(self.docker_host, daemon_died=True, detail=detail)

    def _grade(self, env: BuildEnvironment) -> dict:
        return grade_submission(
            self.submission.exercise,
            self.submission.files,
            env,
            on_check=self._publish_check,
            on_stage=self.submission.mark,
        )

    def _publish_check(self, verdict: dict) -> None:
        self.log.flush()
        # An event's own "type" is "check"; the verdict's kind of check travels as check_type.
        fields = {("check_type" if key == "type" else key): value for key, value in verdict.items()}
        self.submission.publish("check", **fields)


def remove_finished_leftovers(docker_host: str, unfinished: set[str]) -> dict[str, int]:
    """Remove containers and images of submissions that are over (a worker died before removing them).

    `unfinished` holds the ids (as text) of submissions still queued or running: what they own is never
    touched. Only things older than the hard time limit go, as no build can run that long: a daemon may also
    serve another Dockyard (a test's, say) whose submissions this database does not know.
    """
    try:
        older_than = settings.BUILD_HARD_TIME_LIMIT + 60
        return remove_leftovers(docker_host, older_than_seconds=older_than, keep=unfinished)
    except SandboxError as error:
        logger.warning("Could not remove leftovers on %s: %s", docker_host, error.message)
        return {"containers": 0, "images": 0}
