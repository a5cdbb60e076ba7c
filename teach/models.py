"""Classes an instructor runs, who is in them, and each graded verdict stored as a row for the analytics.

A learner's work (submissions, progress, practice) belongs to the learner, not to a class: joining a class
shows that work to its instructor, and leaving it hides it again without deleting anything.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse

from lessons.models import Exercise, Lesson, Question
from sandbox.models import Submission

from .verdicts import PATTERN_LIMIT, verdict_fields

INSTRUCTORS_GROUP = "instructors"
# Join codes avoid letters and digits that are easy to confuse when read aloud or copied (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def is_instructor(user) -> bool:
    """Staff, or a member of the "instructors" group, may create and run classes."""
    if not user.is_authenticated:
        return False
    return user.is_staff or user.groups.filter(name=INSTRUCTORS_GROUP).exists()


def new_join_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """What a learner typed, as a join code: upper case, without spaces or dashes."""
    return re.sub(r"[\s-]+", "", text or "").upper()


class Classroom(models.Model):
    """A class: an instructor, a join code, what it covers, and a due date."""

    name = models.CharField(max_length=200)
    instructor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="classes_taught")
    join_code = models.CharField(max_length=16, unique=True, editable=False)
    # What the class covers; empty means the whole course (see `covered_lessons`, `covered_exercises`).
    lessons = models.ManyToManyField(Lesson, blank=True, related_name="+")
    exercises = models.ManyToManyField(Exercise, blank=True, related_name="+")
    due_at = models.DateTimeField("due date", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "class"
        verbose_name_plural = "classes"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.join_code:
            self.join_code = self.unused_code()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("teach_class", args=[self.pk])

    @classmethod
    def unused_code(cls) -> str:
        while True:
            code = new_join_code()
            if not cls.objects.filter(join_code=code).exists():
                return code

    def join_path(self) -> str:
        return reverse("teach_join_code", args=[self.join_code])

    def covered_exercises(self) -> list[Exercise]:
        """The chosen exercises; else the exercises of the chosen lessons; else every exercise."""
        chosen = list(self.exercises.select_related("lesson"))
        if chosen:
            return sorted(chosen, key=lambda e: (e.lesson.order, e.order, e.slug))
        lessons = self.lessons.all()
        found = Exercise.objects.select_related("lesson")
        return list(found.filter(lesson__in=lessons) if lessons.exists() else found)

    def covered_lessons(self) -> list[Lesson]:
        """The chosen lessons; else the lessons of the chosen exercises; else every lesson."""
        chosen = list(self.lessons.all())
        if chosen:
            return sorted(chosen, key=lambda lesson: lesson.order)
        exercises = self.exercises.all()
        if exercises.exists():
            return list(Lesson.objects.filter(exercises__in=exercises).distinct())
        return list(Lesson.objects.all())

    def covered_questions(self):
        return Question.objects.filter(lesson__in=[lesson.pk for lesson in self.covered_lessons()])

    def learner_ids(self):
        """The members' user ids, as a subquery the analytics filter with."""
        return Membership.objects.filter(classroom=self).values("user_id")


class Membership(models.Model):
    """A learner in a class. Deleting it (leaving) deletes none of the learner's work."""

    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="class_memberships")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["joined_at"]
        constraints = [models.UniqueConstraint(fields=["classroom", "user"], name="one_membership_per_class")]

    def __str__(self) -> str:
        return f"{self.user} in {self.classroom}"


class CheckResult(models.Model):
    """One verdict of one graded submission, as a row, so that the per-check tables are plain GROUP BYs.

    Rows are written when a submission is graded (teach/receivers.py) and by `manage.py backfill_checks`
    for submissions graded before this table existed. They go with their submission when it is deleted.
    """

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="+")
    check_id = models.CharField(max_length=100)
    check_type = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10)
    message = models.TextField(blank=True)
    message_pattern = models.CharField(max_length=PATTERN_LIMIT, blank=True)
    graded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["submission", "check_id"], name="one_result_per_check")]
        indexes = [models.Index(fields=["exercise", "check_id", "status"]), models.Index(fields=["user", "exercise"])]

    def __str__(self) -> str:
        return f"{self.check_id} {self.status} (submission {self.submission_id})"


def check_results_for(submission: Submission) -> list[CheckResult]:
    """The rows for a graded exercise submission's verdicts (unsaved); none for the playground."""
    if submission.exercise_id is None:
        return []
    return [
        CheckResult(
            submission_id=submission.pk,
            user_id=submission.user_id,
            exercise_id=submission.exercise_id,
            graded_at=submission.finished_at,
            **fields,
        )
        for fields in verdict_fields(submission.status, submission.result)
    ]


def store_check_results(submission: Submission) -> int:
    """(Re)write a submission's verdict rows; returns how many were written."""
    rows = check_results_for(submission)
    CheckResult.objects.filter(submission_id=submission.pk).delete()
    CheckResult.objects.bulk_create(rows)
    return len(rows)
