"""Submissions: a learner's files for one exercise (or the playground), and everything that happened to them.

A submission owns its lifecycle. Its status only changes through the methods below, each inside one
transaction, and each change is told to the learner through `publish`, the one place that stores an event and
sends it live:

    queued ──start_attempt()──▶ running ──finish()──▶ passed / failed
       ▲                          │  └──────fail()───▶ error ("could not finish", with the reason in words)
       └────────requeue()─────────┘
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from .bounded import fit
from .events import send_live
from .signals import submission_graded

EVENT_TYPES = {"status", "log", "check", "result"}


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
    def queue(cls, user, exercise, files: dict) -> Submission:
        """A new submission, waiting for a worker. "queued" is always its first event."""
        with transaction.atomic():
            submission = cls.objects.create(user=user, exercise=exercise, files=files)
            submission.publish("status", status="queued", message="Waiting for a build sandbox…")
        return submission

    def start_attempt(self) -> bool:
        """Mark the submission running on its next attempt. False, and the submission ended, after too many."""
        with transaction.atomic():
            Submission.objects.filter(pk=self.pk).update(
                attempts=F("attempts") + 1, status=self.Status.RUNNING, started_at=timezone.now()
            )
            self.refresh_from_db(fields=["attempts", "status", "started_at"])
        if self.attempts > settings.SUBMISSION_MAX_ATTEMPTS:
            self.fail("The build was interrupted twice (its worker stopped). Please submit again.")
            return False
        if self.attempts > 1:
            self.publish("status", status="running", message="Retrying after an interrupted build…")
        return True

    def requeue(self) -> None:
        """Back to the queue without spending an attempt (no sandbox was free to start it)."""
        Submission.objects.filter(pk=self.pk).update(status=self.Status.QUEUED, attempts=F("attempts") - 1)
        self.refresh_from_db(fields=["attempts", "status"])

    def use_daemon(self, docker_host: str) -> None:
        """Record which sandbox daemon runs this attempt (for operators)."""
        Submission.objects.filter(pk=self.pk).update(docker_host=docker_host)
        self.docker_host = docker_host

    def finish(self, outcome: dict) -> bool:
        """Store a graded outcome (passed or failed, with its verdicts) and tell the learner. False if it had ended.

        `outcome` is what grading returns: passed, score, message, checks, image, build.
        """
        passed = bool(outcome["passed"])
        outcome = fit(outcome, settings.RESULT_MAX_BYTES, "This result")
        fields = {
            "status": self.Status.PASSED if passed else self.Status.FAILED,
            "score": outcome.get("score"),
            "message": outcome["message"],
            "result": outcome,
            "finished_at": timezone.now(),
        }
        with transaction.atomic():
            # Only a running attempt may finish: one that was ended meanwhile (for example as stale) stays ended.
            running = Submission.objects.filter(pk=self.pk, status=self.Status.RUNNING)
            if not running.update(**fields):
                return False
            for name, value in fields.items():
                setattr(self, name, value)
            # Course progress listens (lessons.models), so sandbox/ need not know about it.
            submission_graded.send(sender=Submission, submission=self, passed=passed, score=self.score or 0)
        self.publish("result", **self.result_event())
        return True

    def fail(self, message: str, reason: str = "") -> bool:
        """End an unfinished submission as "could not finish", telling the learner why. False if it had ended.

        A submission that could not finish does not count as an attempt in the learner's progress.
        """
        result = {"reason": reason} if reason else {}
        with transaction.atomic():
            unfinished = Submission.objects.filter(pk=self.pk).exclude(status__in=self.FINISHED)
            changed = unfinished.update(
                status=self.Status.ERROR, score=None, message=message, result=result, finished_at=timezone.now()
            )
        if not changed:
            return False
        self.refresh_from_db(fields=["status", "score", "message", "result", "finished_at"])
        self.publish("result", **self.result_event())
        return True

    @classmethod
    def fail_stale(cls, now=None) -> int:
        """End submissions stuck in "running" past the hard time limit (their worker died with them)."""
        now = now or timezone.now()
        cutoff = now - timedelta(seconds=settings.BUILD_HARD_TIME_LIMIT + 60)
        stale = cls.objects.filter(status=cls.Status.RUNNING, started_at__lt=cutoff)
        message = "The build stopped without an answer (its worker went away). Please submit again."
        return sum(submission.fail(message) for submission in stale)

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
        }
        if with_events:
            data["events"] = [event.as_message() for event in self.events.order_by("seq")]
        return data


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
