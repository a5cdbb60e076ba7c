"""The course as loaded from lessons/content, and each learner's progress through it."""

from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from sandbox.signals import submission_graded


class Lesson(models.Model):
    slug = models.SlugField(unique=True)
    order = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    objectives = models.JSONField(default=list, blank=True)
    body_markdown = models.TextField()
    body_html = models.TextField()
    # [{"level": 2, "anchor": "...", "title": "..."}] for the table of contents and link checks.
    toc = models.JSONField(default=list, blank=True)
    source_path = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return f"{self.order}. {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("lesson", args=[self.slug])

    def section_url(self, anchor: str) -> str:
        return f"{self.get_absolute_url()}#{anchor}" if anchor else self.get_absolute_url()

    def anchors(self) -> set[str]:
        return {entry["anchor"] for entry in self.toc}


class Exercise(models.Model):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="exercises")
    slug = models.SlugField(unique=True)
    order = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, default="dockerfile")
    prompt_markdown = models.TextField(blank=True)
    prompt_html = models.TextField(blank=True)
    # The whole parsed exercise.yaml: checks, limits, points. Learners never send checks; they come from here.
    spec = models.JSONField(default=dict)
    starter_files = models.JSONField(default=dict)
    solution_files = models.JSONField(default=dict)
    source_path = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["lesson__order", "order", "slug"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("exercise", args=[self.slug])


class Question(models.Model):
    class Kind(models.TextChoices):
        CHOICE = "choice", "Multiple choice"
        MULTI = "multi", "Multiple answer"
        TEXT = "text", "Short answer"
        SPOT_BUG = "spot_bug", "Spot the bug"
        ORDER = "order", "Put in order"

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="questions")
    # Global id, "<lesson-slug>/<id>": stable across reloads so practice history survives edits.
    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    prompt = models.TextField()
    # Type-specific fields from questions.yaml: options, answer, code, items, model_answer, key_points.
    data = models.JSONField(default=dict)
    explanation = models.TextField(blank=True)
    section = models.CharField(max_length=200, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["lesson__order", "order"]

    def __str__(self) -> str:
        return self.key

    def section_url(self) -> str:
        return self.lesson.section_url(self.section)


class LessonProgress(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "lesson"], name="one_progress_per_lesson")]

    def __str__(self) -> str:
        return f"{self.user} finished {self.lesson}"

    @classmethod
    def mark_done(cls, user, lesson: Lesson) -> LessonProgress:
        progress, _ = cls.objects.get_or_create(user=user, lesson=lesson)
        return progress

    @classmethod
    def mark_not_done(cls, user, lesson: Lesson) -> None:
        cls.objects.filter(user=user, lesson=lesson).delete()


class ExerciseProgress(models.Model):
    """A learner's attempts at one exercise: how many, the best score, and when it was first passed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exercise_progress")
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="progress")
    attempts = models.PositiveIntegerField(default=0)
    best_score = models.PositiveIntegerField(default=0)
    passed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "exercise"], name="one_progress_per_exercise")]

    def __str__(self) -> str:
        return f"{self.user} on {self.exercise}: {self.best_score}%"

    @classmethod
    def record_attempt(cls, user, exercise: Exercise, score: int, passed: bool) -> ExerciseProgress:
        with transaction.atomic():
            progress, _ = cls.objects.select_for_update().get_or_create(user=user, exercise=exercise)
            progress.attempts += 1
            progress.best_score = max(progress.best_score, score)
            progress.last_attempt_at = timezone.now()
            if passed and progress.passed_at is None:
                progress.passed_at = progress.last_attempt_at
            progress.save()
        return progress


@receiver(submission_graded, dispatch_uid="lessons.record_graded_submission")
def _record_graded_submission(sender, submission, passed: bool, score: int, **kwargs) -> None:
    # A graded exercise submission counts as an attempt; the playground (no exercise) does not.
    if submission.exercise_id is not None:
        ExerciseProgress.record_attempt(submission.user, submission.exercise, score, passed)
