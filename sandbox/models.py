"""Submissions: a learner's files for one exercise (or the playground), and everything that happened to them.

A submission owns its lifecycle. Its status only changes through the methods below, each inside one
transaction, and each change is told to the learner through `publish`, the one place that stores an event and
sends it live:

    queued ──claim()──▶ running ──finish()──▶ passed / failed
       ▲                    │  └──────fail()───▶ error ("could not finish", with the reason in words)
       └──requeue()─────────┤  (no sandbox was free: no attempt spent)
       └──retry_elsewhere()─┤  (its sandbox stopped: retried once elsewhere, never counted against the learner)
       └──recover()─────────┘  (its worker or its task was lost: found by the upkeep, sandbox/upkeep.py)

A running attempt proves it is alive with a heartbeat (written with every lease renewal, sandbox/leases.py);
one whose heartbeat is older than HEARTBEAT_TIMEOUT_SECONDS is dead, and another task may take it over.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from .bounded import fit
from .events import send_live
from .signals import submission_graded
from .timings import check_stage, spans, timeline

EVENT_TYPES = {"status", "log", "check", "result"}
# A running attempt whose heartbeat is older than this is dead; it is also how long a daemon lease lasts.
HEARTBEAT_TIMEOUT_SECONDS = 30
SANDBOX_LOST = (
    "The build sandbox stopped while building, which is not your fault. It could not finish; "
    "it is being retried on another sandbox."
)
SANDBOX_LOST_TWICE = (
    "The build could not finish: its sandbox stopped twice, which is not your fault and does not count as an "
    "attempt. Please submit again in a minute."
)
TOO_MANY_INTERRUPTIONS = "The build was interrupted twice (its worker stopped). Please submit again."
WAITED_TOO_LONG = (
    "The build waited too long for a sandbox and was not started. This is not your fault and does not count "
    "as an attempt; please submit again."
)


class SubmissionQuerySet(models.QuerySet):
    def really_waiting(self, now=None) -> SubmissionQuerySet:
        """Queued or running for real: not a dead attempt, and not a queued one past the give-up time.

        The rate limits count these, so a submission whose task was lost never locks its learner out while it
        waits for the upkeep to recover it.
        """
        now = now or timezone.now()
        give_up = now - timedelta(seconds=settings.SUBMISSION_GIVE_UP_SECONDS)
        alive = now - timedelta(seconds=HEARTBEAT_TIMEOUT_SECONDS)
        return self.filter(
            Q(status=Submission.Status.QUEUED, created_at__gte=give_up)
            | Q(status=Submission.Status.RUNNING, heartbeat_at__gte=alive)
        )

    def running_on(self, docker_host: str, now=None) -> SubmissionQuerySet:
        """Attempts alive on one daemon (their heartbeat is fresh)."""
        now = now or timezone.now()
        alive = now - timedelta(seconds=HEARTBEAT_TIMEOUT_SECONDS)
        return self.filter(status=Submission.Status.RUNNING, docker_host=docker_host, heartbeat_at__gte=alive)


class Submission(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Could not finish"

    FINISHED = (Status.PASSED, Status.FAILED, Status.ERROR)
    ACTIVE = (Status.QUEUED, Status.RUNNING)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    # No exercise means the playground: a plain build with no checks.
    exercise = models.ForeignKey(
        "lessons.Exercise", null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    files = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    score = models.PositiveIntegerField(null=True, blank=True)
    # Verdicts, image facts and the build summary (see sandbox/grading/grader.py for the shape).
    result = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_seq = models.PositiveIntegerField(default=0)
    docker_host = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Liveness: which worker process runs the attempt ("host:pid") and when it last said it is alive.
    runner = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Builds lost with their sandbox (retried once elsewhere, never counted against the learner).
    sandbox_retries = models.PositiveSmallIntegerField(default=0)
    # The place in the queue last told to the learner (None when not waiting).
    queue_position = models.PositiveIntegerField(null=True, blank=True)
    # When each stage of the latest attempt happened, in seconds since the epoch (see sandbox/timings.py).
    timings = models.JSONField(default=dict, blank=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self) -> str:
        return f"Submission {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("submission_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    def can_be_seen_by(self, user) -> bool:
        return user.is_authenticated and (user.pk == self.user_id or user.is_staff)

    def events_path(self) -> str:
        return f"/ws/submissions/{self.pk}/"

    # --- Events ---------------------------------------------------------------------------------------------

    def publish(self, event_type: str, /, **data) -> dict:
        """Store an event with the next sequence number, then send it to the submission's group.

        Storing before sending means a browser that connects late, or reconnects, can replay everything it
        missed from the database; the live message is only a faster copy of what is already stored.
        """
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}")
        if {"seq", "type"} & data.keys():
            raise ValueError("'seq' and 'type' are set by publish itself")
        # What a build sends back is partly the learner's to choose: no event may grow without bound.
        data = fit(data, settings.EVENT_MAX_BYTES, f"This {event_type} event")
        with transaction.atomic():
            Submission.objects.filter(pk=self.pk).update(last_seq=F("last_seq") + 1)
            seq = Submission.objects.values_list("last_seq", flat=True).get(pk=self.pk)
            event = SubmissionEvent.objects.create(submission_id=self.pk, seq=seq, type=event_type, data=data)
        message = event.as_message()
        send_live(self.pk, message)
        return message

    def result_event(self) -> dict:
        """The fields of the final "result" event, from the stored outcome."""
        return {
            "status": self.status,
            "score": self.score,
            "message": self.message,
            "checks": self.result.get("checks", []),
            "image": self.result.get("image"),
            "build": self.result.get("build"),
            # Present only when the stored result had to be shortened (sandbox/bounded.py), saying so.
            **({"truncated": self.result["truncated"]} if "truncated" in self.result else {}),
        }

    # --- Lifecycle ------------------------------------------------------------------------------------------

    @classmethod
    def queue(cls, user, exercise, files: dict, waiting: tuple[int, int] | None = None) -> Submission:
        """A new submission, waiting for a worker. "queued" is always its first event.

        `waiting` is its place in the queue and the estimated wait in seconds, told to the learner at once.
        """
        with transaction.atomic():
            submission = cls.objects.create(user=user, exercise=exercise, files=files, timings={"queued": now()})
            if waiting is None:
                submission.publish("status", status="queued", message="Waiting for a build sandbox…")
            else:
                submission.tell_place(*waiting)
        return submission

    def tell_place(self, position: int, wait_seconds: int) -> bool:
        """Tell the learner its place in the queue, once per change of place. False if it was already told."""
        changed = (
            Submission.objects.filter(pk=self.pk, status=self.Status.QUEUED)
            .exclude(queue_position=position)
            .update(queue_position=position)
        )
        if not changed:
            return False
        self.queue_position = position
        self.publish(
            "status",
            status="queued",
            message=waiting_message(position, wait_seconds),
            position=position,
            wait_seconds=wait_seconds,
        )
        return True

    def claim(self, runner: str, take_over_from: str = "") -> bool:
        """Start the next attempt in this worker process, unless another live one runs it. True when claimed.

        Only a queued submission, or a running one whose attempt is dead (a stale heartbeat, or the runner named
        by `take_over_from`, known to be gone), can be claimed, so a duplicate task never builds twice. After
        SUBMISSION_MAX_ATTEMPTS interruptions the submission ends instead, and False is returned.
        """
        now = timezone.now()
        dead = Q(status=self.Status.RUNNING) & (
            Q(heartbeat_at__lt=now - timedelta(seconds=HEARTBEAT_TIMEOUT_SECONDS)) | Q(heartbeat_at__isnull=True)
        )
        if take_over_from:
            dead |= Q(status=self.Status.RUNNING, runner=take_over_from)
        # Each attempt's stages are its own; only the moment the learner submitted stays.
        timings = {
            "queued": (self.timings or {}).get("queued", self.created_at.timestamp()),
            "claimed": now.timestamp(),
        }
        with transaction.atomic():
            claimed = (
                Submission.objects.filter(pk=self.pk)
                .filter(Q(status=self.Status.QUEUED) | dead)
                .update(
                    attempts=F("attempts") + 1,
                    status=self.Status.RUNNING,
                    started_at=now,
                    runner=runner,
                    heartbeat_at=now,
                    queue_position=None,
                    timings=timings,
                )
            )
        if not claimed:
            return False
        self.refresh_from_db(
            fields=["attempts", "status", "started_at", "runner", "heartbeat_at", "queue_position", "timings"]
        )
        if self.attempts > settings.SUBMISSION_MAX_ATTEMPTS:
            self.fail(TOO_MANY_INTERRUPTIONS)
            return False
        if self.attempts > 1:
            self.publish("status", status="running", message="Retrying after an interrupted build…")
        return True

    def beat(self) -> bool:
        """Say this attempt is alive. False when it is no longer this runner's (ended, or taken over)."""
        return bool(
            Submission.objects.filter(pk=self.pk, status=self.Status.RUNNING, runner=self.runner).update(
                heartbeat_at=timezone.now()
            )
        )

    def requeue(self) -> None:
        """Back to the queue without spending an attempt (no sandbox was free to start it)."""
        Submission.objects.filter(pk=self.pk, runner=self.runner).update(
            status=self.Status.QUEUED, attempts=F("attempts") - 1, runner="", heartbeat_at=None
        )
        self.refresh_from_db(fields=["attempts", "status", "runner", "heartbeat_at"])

    def retry_elsewhere(self) -> bool:
        """After its sandbox stopped mid-build: back to the queue once, with no attempt spent; then it ends.

        True when it was queued again (the caller enqueues it), False when it ended. Either way the learner is
        told it was not their fault, and nothing counts against them.
        """
        mine = Submission.objects.filter(pk=self.pk, status=self.Status.RUNNING, runner=self.runner)
        retried = mine.filter(sandbox_retries=0).update(
            status=self.Status.QUEUED,
            attempts=F("attempts") - 1,
            sandbox_retries=F("sandbox_retries") + 1,
            runner="",
            heartbeat_at=None,
        )
        if not retried:
            if mine.exists():
                self.fail(SANDBOX_LOST_TWICE, reason="daemon_unavailable")
            return False
        self.refresh_from_db(fields=["attempts", "status", "sandbox_retries", "runner", "heartbeat_at"])
        self.publish("status", status="queued", message=SANDBOX_LOST, retry=True)
        return True

    def recover(self, message: str) -> bool:
        """The upkeep found this submission's task lost: back to the queue (the caller enqueues it) with a word.

        A running attempt that died keeps its attempt spent, so a build that kills its worker every time ends
        after SUBMISSION_MAX_ATTEMPTS. True when it was queued again, False when it ended or had moved on.
        """
        if self.status == self.Status.RUNNING and self.attempts >= settings.SUBMISSION_MAX_ATTEMPTS:
            self.fail(TOO_MANY_INTERRUPTIONS)
            return False
        moved = Submission.objects.filter(pk=self.pk, status=self.status, runner=self.runner).update(
            status=self.Status.QUEUED, runner="", heartbeat_at=None, queue_position=None
        )
        if not moved:
            return False
        was_running = self.status == self.Status.RUNNING
        self.refresh_from_db(fields=["status", "runner", "heartbeat_at", "queue_position"])
        self.publish("status", status="queued", message=message, retry=was_running)
        return True

    def use_daemon(self, docker_host: str) -> None:
        """Record which sandbox daemon runs this attempt (for operators)."""
        self.mark("leased")
        Submission.objects.filter(pk=self.pk).update(docker_host=docker_host, timings=self.timings)
        self.docker_host = docker_host

    # --- Stage timings --------------------------------------------------------------------------------------

    def mark(self, stage: str, at: float | None = None) -> None:
        """Note when a stage of this attempt happened (the first time counts; see sandbox/timings.py).

        Only in memory: the lifecycle's own updates (use_daemon, finish, fail) store it, so noting a stage costs
        no query; `save_timings` stores what was noted after the last of them.
        """
        if not isinstance(self.timings, dict):
            self.timings = {}
        self.timings.setdefault(stage, round(now() if at is None else at, 4))

    def mark_check(self, check_id: str, edge: str) -> None:
        """Note a check's start (edge "started") or end ("finished")."""
        self.mark(check_stage(check_id, edge))

    def save_timings(self) -> None:
        """Store the stages noted since the last update (only while this attempt is still this runner's)."""
        Submission.objects.filter(pk=self.pk, runner=self.runner).update(timings=self.timings)

    def timeline(self) -> list[dict]:
        """The attempt's stages in order, each with seconds since queued and since the stage before."""
        return timeline(self.timings or {})

    def stage_seconds(self) -> dict[str, float]:
        """How long each span of the attempt took (queue, lease, build, each check, publish, ...)."""
        return spans(self.timings or {})

    def finish(self, outcome: dict) -> bool:
        """Store a graded outcome (passed or failed, with its verdicts) and tell the learner. False if it had ended.

        `outcome` is what grading returns: passed, score, message, checks, image, build.
        """
        passed = bool(outcome["passed"])
        outcome = fit(outcome, settings.RESULT_MAX_BYTES, "This result")
        self.mark("result_stored")
        fields = {
            "status": self.Status.PASSED if passed else self.Status.FAILED,
            "score": outcome.get("score"),
            "message": outcome["message"],
            "result": outcome,
            "finished_at": timezone.now(),
            "timings": self.timings,
        }
        with transaction.atomic():
            # Only the running attempt may finish: one that was ended meanwhile (for example as stale) stays ended,
            # and one that was taken over by another attempt is that attempt's to finish.
            running = Submission.objects.filter(pk=self.pk, status=self.Status.RUNNING, runner=self.runner)
            if not running.update(**fields):
                return False
            for name, value in fields.items():
                setattr(self, name, value)
            # Course progress listens (lessons.models), so sandbox/ need not know about it.
            submission_graded.send(sender=Submission, submission=self, passed=passed, score=self.score or 0)
        self.publish("result", **self.result_event())
        self.mark("result_published")
        self.save_timings()
        return True

    def fail(self, message: str, reason: str = "") -> bool:
        """End an unfinished submission as "could not finish", telling the learner why. False if it had ended.

        A submission that could not finish does not count as an attempt in the learner's progress.
        """
        result = {"reason": reason} if reason else {}
        self.mark("result_stored")
        with transaction.atomic():
            # As in finish: an attempt that was taken over meanwhile is no longer this one's to end.
            unfinished = Submission.objects.filter(pk=self.pk, runner=self.runner).exclude(status__in=self.FINISHED)
            changed = unfinished.update(
                status=self.Status.ERROR,
                score=None,
                message=message,
                result=result,
                finished_at=timezone.now(),
                timings=self.timings,
            )
        if not changed:
            return False
        self.refresh_from_db(fields=["status", "score", "message", "result", "finished_at"])
        self.publish("result", **self.result_event())
        self.mark("result_published")
        self.save_timings()
        return True

    @classmethod
    def fail_stale(cls, now=None) -> int:
        """End submissions running past the hard time limit, or waiting past the give-up time, in words."""
        now = now or timezone.now()
        cutoff = now - timedelta(seconds=settings.BUILD_HARD_TIME_LIMIT + 60)
        stale = cls.objects.filter(status=cls.Status.RUNNING, started_at__lt=cutoff)
        message = "The build stopped without an answer (its worker went away). Please submit again."
        ended = sum(submission.fail(message) for submission in stale)
        give_up = now - timedelta(seconds=settings.SUBMISSION_GIVE_UP_SECONDS)
        forgotten = cls.objects.filter(status=cls.Status.QUEUED, created_at__lt=give_up)
        return ended + sum(submission.fail(WAITED_TOO_LONG, reason="waited_too_long") for submission in forgotten)

    # --- As JSON --------------------------------------------------------------------------------------------

    def to_dict(self, with_events: bool = False) -> dict:
        """The submission as the API and the workspace show it."""
        data = {
            "id": self.pk,
            "exercise": self.exercise.slug if self.exercise else None,
            "status": self.status,
            "finished": self.is_finished,
            "score": self.score,
            "message": self.message,
            "result": self.result,
            "files": self.files,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "events_url": self.events_path(),
            "timings": self.timings or {},
            "stages": self.stage_seconds(),
        }
        if with_events:
            data["events"] = [event.as_message() for event in self.events.order_by("seq")]
        return data


def now() -> float:
    """Seconds since the epoch, the clock of the stage timings (comparable across processes of one machine)."""
    return time.time()


def waiting_message(position: int, wait_seconds: int) -> str:
    """ "Waiting for a build sandbox: 3rd in line, about 40 s." in plain words."""
    place = "next in line" if position == 1 else f"{ordinal(position)} in line"
    return f"Waiting for a build sandbox: {place}, {about(wait_seconds)}."


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def about(seconds: int) -> str:
    if seconds <= 0:
        return "starting in a moment"
    if seconds < 10:
        return "a few seconds to wait"
    if seconds < 60:
        return f"about {round(seconds / 10) * 10} s to wait"
    minutes = round(seconds / 60)
    return f"about {minutes} minute{'s' if minutes != 1 else ''} to wait"


class SubmissionEvent(models.Model):
    """One step of a submission's story, numbered so a reconnecting browser can resume exactly."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=20)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["submission", "seq"]
        constraints = [models.UniqueConstraint(fields=["submission", "seq"], name="one_event_per_seq")]

    def __str__(self) -> str:
        return f"Event {self.seq} of submission {self.submission_id}"

    def as_message(self) -> dict:
        return {"seq": self.seq, "type": self.type, **self.data}
