"""The numbers of the class dashboard and the course-wide analytics, all from database aggregates.

No query here loads submissions or practice answers one by one. The largest result is one row per learner
and exercise (`exercise_pairs`, which the progress grid shows cell by cell anyway); every other table is
one row per exercise, per check (with its grouped failure messages) or per question. Medians are taken over
the per-learner rows. docs/authoring.md ("Reading the analytics") says what each number means.

Definitions used throughout:

- An *attempt* at an exercise is a graded submission: passed or failed. A submission that could not
  finish ("error") was never graded and is not an attempt, as in the learner's own progress.
- A learner's *first attempt* is their earliest graded submission of the exercise; *attempts to pass*
  counts their graded submissions up to and including their first passing one; *time to pass* runs from
  their first attempt's submission to the moment their first pass was graded.
- A learner's *first try* of a question is their earliest answer to it in any practice mode (or in the
  mode asked for).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery

from lessons.models import Exercise, Question
from practice.models import PracticeAttempt
from sandbox.models import Submission

from .models import CheckResult

GRADED = (Submission.Status.PASSED, Submission.Status.FAILED)
# Questions are flagged only once enough learners have tried them for a share to mean something.
MIN_LEARNERS_FOR_FLAGS = 5
TOO_EASY = 0.9  # more than 90% right on the first try
TOO_HARD = 0.3  # fewer than 30% right on the first try
LOW_DISCRIMINATION = 0.2  # a point-biserial correlation below this separates strong and weak learners poorly
TOP_MESSAGES = 3


@dataclass
class Scope:
    """Whose work, and which exercises and questions, the numbers cover."""

    exercises: list[Exercise]
    questions: QuerySet
    # A subquery of user ids (a class's members); None means every learner.
    learners: QuerySet | None = None

    def of_learners(self, queryset: QuerySet, field_name: str = "user") -> QuerySet:
        if self.learners is None:
            return queryset
        return queryset.filter(**{f"{field_name}__in": self.learners})

    @property
    def exercise_ids(self) -> list[int]:
        return [exercise.pk for exercise in self.exercises]


# --- Exercises ----------------------------------------------------------------------------------------------


@dataclass
class Pair:
    """One learner's attempts at one exercise."""

    user_id: int
    exercise_id: int
    attempts: int
    passed: bool
    first_try: bool
    attempts_to_pass: int | None
    seconds_to_pass: float | None
    passed_at: datetime | None
    last_id: int
    last_score: int | None = None


def exercise_pairs(scope: Scope, with_last_score: bool = False) -> list[Pair]:
    """One row per learner and exercise tried: GROUP BY learner, exercise over the graded submissions."""
    passed = Q(status=Submission.Status.PASSED)
    graded = scope.of_learners(Submission.objects.filter(status__in=GRADED, exercise__in=scope.exercise_ids))
    # The learner's first passing submission of the exercise; attempts up to it are the attempts to pass.
    first_pass = (
        Submission.objects.filter(user=OuterRef("user"), exercise=OuterRef("exercise"), status=Submission.Status.PASSED)
        .order_by("created_at", "pk")
        .values("created_at")[:1]
    )
    rows = (
        graded.values("user", "exercise")
        .annotate(
            attempts=Count("pk"),
            first_at=Min("created_at"),
            first_pass_at=Min("created_at", filter=passed),
            pass_graded_at=Min("finished_at", filter=passed),
            until_pass=Count("pk", filter=Q(created_at__lte=Subquery(first_pass))),
            last_id=Max("pk"),
        )
        .order_by()
    )
    pairs = []
    for row in rows:
        has_passed = row["first_pass_at"] is not None
        seconds = None
        if has_passed and row["pass_graded_at"] is not None:
            seconds = max(0.0, (row["pass_graded_at"] - row["first_at"]).total_seconds())
        pairs.append(
            Pair(
                user_id=row["user"],
                exercise_id=row["exercise"],
                attempts=row["attempts"],
                passed=has_passed,
                first_try=has_passed and row["first_pass_at"] == row["first_at"],
                attempts_to_pass=row["until_pass"] if has_passed else None,
                seconds_to_pass=seconds,
                passed_at=row["pass_graded_at"],
                last_id=row["last_id"],
            )
        )
    if with_last_score:
        scores = dict(Submission.objects.filter(pk__in=[p.last_id for p in pairs]).values_list("pk", "score"))
        for pair in pairs:
            pair.last_score = scores.get(pair.last_id)
    return pairs


@dataclass
class ExerciseRow:
    exercise: Exercise
    learners: int | None  # learners in scope (a class's size); None course-wide
    tried: int = 0
    passed: int = 0
    first_try: int = 0
    attempts: int = 0
    median_attempts_to_pass: float | None = None
    median_seconds_to_pass: float | None = None

    @property
    def passed_share(self) -> float | None:
        return self.passed / self.tried if self.tried else None

    @property
    def first_try_share(self) -> float | None:
        return self.first_try / self.tried if self.tried else None


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def exercise_table(scope: Scope, pairs: list[Pair], learners: int | None = None) -> list[ExerciseRow]:
    by_exercise: dict[int, list[Pair]] = defaultdict(list)
    for pair in pairs:
        by_exercise[pair.exercise_id].append(pair)
    table = []
    for exercise in scope.exercises:
        found = by_exercise.get(exercise.pk, [])
        passers = [pair for pair in found if pair.passed]
        table.append(
            ExerciseRow(
                exercise=exercise,
                learners=learners,
                tried=len(found),
                passed=len(passers),
                first_try=sum(pair.first_try for pair in found),
                attempts=sum(pair.attempts for pair in found),
                median_attempts_to_pass=median([pair.attempts_to_pass for pair in passers]),
                median_seconds_to_pass=median([p.seconds_to_pass for p in passers if p.seconds_to_pass is not None]),
            )
        )
    return table


# --- Checks -------------------------------------------------------------------------------------------------


@dataclass
class FailureMessage:
    example: str
    count: int


@dataclass
class CheckRow:
    exercise: Exercise
    check_id: str
    title: str
    check_type: str
    in_spec: bool
    verdicts: int
    failed: int
    skipped: int
    errors: int
    learners: int
    learners_failed: int
    messages: list[FailureMessage] = field(default_factory=list)

    @property
    def failed_share(self) -> float | None:
        return self.failed / self.verdicts if self.verdicts else None


def check_table(scope: Scope) -> list[CheckRow]:
    """Every check of the exercises in scope, the most often failed first (GROUP BY exercise, check)."""
    results = scope.of_learners(CheckResult.objects.filter(exercise__in=scope.exercise_ids))
    failed = Q(status="failed")
    counts = (
        results.values("exercise", "check_id")
        .annotate(
            verdicts=Count("pk"),
            failed=Count("pk", filter=failed),
            skipped=Count("pk", filter=Q(status="skipped")),
            errors=Count("pk", filter=Q(status="error")),
            learners=Count("user", distinct=True),
            learners_failed=Count("user", distinct=True, filter=failed),
            check_type=Max("check_type"),
        )
        .order_by()
    )
    # Failure messages grouped with their numbers blanked; one row per distinct message, most common first.
    messages: dict[tuple[int, str], list[FailureMessage]] = defaultdict(list)
    grouped = (
        results.filter(failed)
        .values("exercise", "check_id", "message_pattern")
        .annotate(count=Count("pk"), example=Min("message"))
        .order_by("-count", "message_pattern")
    )
    for row in grouped:
        found = messages[(row["exercise"], row["check_id"])]
        if len(found) < TOP_MESSAGES:
            found.append(FailureMessage(row["example"], row["count"]))
    exercises = {exercise.pk: exercise for exercise in scope.exercises}
    table = []
    for row in counts:
        exercise = exercises[row["exercise"]]
        spec_check = spec_checks(exercise).get(row["check_id"])
        table.append(
            CheckRow(
                exercise=exercise,
                check_id=row["check_id"],
                title=spec_check.get("title", row["check_id"]) if spec_check else row["check_id"],
                check_type=row["check_type"],
                in_spec=spec_check is not None,
                verdicts=row["verdicts"],
                failed=row["failed"],
                skipped=row["skipped"],
                errors=row["errors"],
                learners=row["learners"],
                learners_failed=row["learners_failed"],
                messages=messages.get((row["exercise"], row["check_id"]), []),
            )
        )
    order = {exercise.pk: index for index, exercise in enumerate(scope.exercises)}
    table.sort(key=lambda row: (-(row.failed_share or 0), -row.failed, order[row.exercise.pk], row.check_id))
    return table


def spec_checks(exercise: Exercise) -> dict[str, dict]:
    checks = (exercise.spec or {}).get("checks") if isinstance(exercise.spec, dict) else None
    return {c["id"]: c for c in checks or [] if isinstance(c, dict) and isinstance(c.get("id"), str)}


# --- Questions ----------------------------------------------------------------------------------------------


@dataclass
class QuestionRow:
    question: Question
    learners: int
    attempts: int
    right_first: int
    # Sums over the learners who answered at least one other question, for the point-biserial correlation.
    rest_n: int
    sum_x: float
    sum_y: float
    sum_yy: float
    sum_xy: float

    @property
    def right_first_share(self) -> float | None:
        return self.right_first / self.learners if self.learners else None

    @property
    def discrimination(self) -> float | None:
        """The point-biserial correlation between being right on the first try (x, 0 or 1) and the learner's
        share right on the first try of the *other* questions in scope (y, the rest score).

        r = (n·Σxy − Σx·Σy) / √((n·Σx − (Σx)²)(n·Σy² − (Σy)²)), with Σx² = Σx as x is 0 or 1. Undefined
        (None) with fewer than MIN_LEARNERS_FOR_FLAGS learners, or when everyone got the same x or y.
        """
        n = self.rest_n
        if n < MIN_LEARNERS_FOR_FLAGS:
            return None
        spread_x = n * self.sum_x - self.sum_x**2
        spread_y = n * self.sum_yy - self.sum_y**2
        if spread_x <= 1e-12 or spread_y <= 1e-12:
            return None
        return (n * self.sum_xy - self.sum_x * self.sum_y) / math.sqrt(spread_x * spread_y)

    @property
    def flags(self) -> list[str]:
        if self.learners < MIN_LEARNERS_FOR_FLAGS:
            return []
        found = []
        share = self.right_first_share
        if share > TOO_EASY:
            found.append("too easy")
        elif share < TOO_HARD:
            found.append("too hard")
        r = self.discrimination
        if r is not None and r < 0:
            found.append("strong learners miss it")
        elif r is not None and r < LOW_DISCRIMINATION:
            found.append("low discrimination")
        return found


# The first try of each learner and question comes from one GROUP BY: the first answer was right when the
# earliest answer and the earliest right answer have the same time. Each learner's rest score then needs
# their total over all questions, joined back to each of their first tries: a join on a grouped derived
# table, which the ORM cannot write, so the outer query is SQL (plain enough for SQLite and PostgreSQL) around
# the ORM's own SQL for the scoped, grouped answers.
QUESTION_SQL = """
WITH pairs AS ({pairs}),
firsts AS (
    SELECT learner, item, tries, CASE WHEN first_at = first_right_at THEN 1 ELSE 0 END AS right_first
    FROM pairs
),
totals AS (
    SELECT learner, COUNT(*) AS answered, SUM(right_first) AS right_total FROM firsts GROUP BY learner
),
items AS (
    SELECT f.item, f.tries, f.right_first,
           CASE WHEN t.answered > 1 THEN (t.right_total - f.right_first) * 1.0 / (t.answered - 1) END AS rest
    FROM firsts f JOIN totals t ON t.learner = f.learner
)
SELECT item, COUNT(*), SUM(tries), SUM(right_first), COUNT(rest),
       SUM(CASE WHEN rest IS NOT NULL THEN right_first ELSE 0 END), SUM(rest), SUM(rest * rest),
       SUM(rest * right_first)
FROM items GROUP BY item
"""


def question_table(scope: Scope, mode: str | None = None) -> list[QuestionRow]:
    """Every question in scope that someone answered, in course order."""
    answers = scope.of_learners(PracticeAttempt.objects.filter(question__in=scope.questions))
    if mode:
        answers = answers.filter(mode=mode)
    pairs = (
        answers.values(learner=F("user_id"), item=F("question_id"))
        .annotate(
            tries=Count("pk"), first_at=Min("answered_at"), first_right_at=Min("answered_at", filter=Q(correct=True))
        )
        .order_by()
    )
    sql, params = pairs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(QUESTION_SQL.format(pairs=sql), params)
        rows = cursor.fetchall()
    questions = Question.objects.select_related("lesson").in_bulk([row[0] for row in rows])
    table = [
        QuestionRow(
            question=questions[item],
            learners=learners,
            attempts=int(tries),
            right_first=int(right),
            rest_n=rest_n,
            sum_x=float(sum_x or 0),
            sum_y=float(sum_y or 0),
            sum_yy=float(sum_yy or 0),
            sum_xy=float(sum_xy or 0),
        )
        for item, learners, tries, right, rest_n, sum_x, sum_y, sum_yy, sum_xy in rows
    ]
    table.sort(key=lambda row: (row.question.lesson.order, row.question.order))
    return table
