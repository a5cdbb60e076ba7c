"""Submissions: a learner's files for one exercise (or the playground), and everything that happened to them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class Submission(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Could not finish"

    FINISHED = (Status.PASSED, Status.FAILED, Status.ERROR)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    # No exercise means the playground: a plain build with no checks.
    exercise = models.ForeignKey(
        "lessons.Exercise", null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    files = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    score = models.PositiveIntegerField(null=True, blank=True)
    # Verdicts, image facts and the build summary; see sandbox/pipeline.py for the shape.
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
