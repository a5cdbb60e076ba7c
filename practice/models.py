"""Interview practice history: answered questions, spaced-repetition cards and timed mock interviews.

Signed-in learners' history lives in these tables; an anonymous visitor's lives in the session and is
merged into them on log-in (practice/signals.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from lessons.models import Exercise, Question


class PracticeAttempt(models.Model):
    """One answered question in any practice mode: the raw material for accuracy and streaks."""

    class Mode(models.TextChoices):
        QUIZ = "quiz", "Quiz"
        FLASHCARD = "flashcard", "Flashcard"
        MOCK = "mock", "Mock interview"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_attempts")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="attempts")
    correct = models.BooleanField()
    mode = models.CharField(max_length=10, choices=Mode.choices)
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-answered_at"]
        indexes = [models.Index(fields=["user", "answered_at"])]

    def __str__(self) -> str:
        return f"{self.user} {'✓' if self.correct else '✗'} {self.question} ({self.mode})"


class Card(models.Model):
    """A question's spaced-repetition state for one learner (SM-2: ease factor, interval, repetitions)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_cards")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="cards")
    ease = models.FloatField(default=2.5)
    interval = models.PositiveIntegerField(default=0, help_text="Days until the next review.")
    repetitions = models.PositiveIntegerField(default=0, help_text="Successful reviews in a row.")
    lapses = models.PositiveIntegerField(default=0)
    due = models.DateTimeField(default=timezone.now, db_index=True)
    last_reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due"]
        constraints = [models.UniqueConstraint(fields=["user", "question"], name="one_card_per_question")]

    def __str__(self) -> str:
        return f"{self.user}: {self.question} due {self.due:%Y-%m-%d}"


class MockInterview(models.Model):
    """A timed mock interview. The deadline is fixed on the server when it starts; later answers do not count."""

    # The id in URLs: not guessable, so an anonymous visitor's interview cannot be found by counting.
    public_id = models.UUIDField(unique=True, editable=False)
    # Null while it belongs to an anonymous visitor (whose session lists it); set on log-in.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="mock_interviews"
    )
    started_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField()
    # Question ids in the order they are asked.
    questions = models.JSONField(default=list)
    # {"<question id>": {"correct": bool | None, "answer": ..., "at": iso time}}
    answers = models.JSONField(default=dict, blank=True)
    exercise = models.ForeignKey(Exercise, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The sandbox submission of a signed-in learner's Dockerfile (sandbox.models.Submission id).
    submission_id = models.PositiveIntegerField(null=True, blank=True)
    # The static-check result of an anonymous visitor's Dockerfile: {"score", "messages", "at"}.
    challenge_result = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Mock interview {self.public_id} ({self.user or 'anonymous'})"

    def get_absolute_url(self) -> str:
        return reverse("practice_mock", args=[self.public_id])
