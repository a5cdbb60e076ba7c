"""The practice home page: lessons to quiz on, cards due, and interviews to start or revisit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count

from lessons.models import Exercise, Lesson, Question

from .mock import (
    MOCK_DEFAULT_MINUTES,
    MOCK_DEFAULT_QUESTIONS,
    MOCK_MINUTES,
    MOCK_QUESTION_COUNTS,
    challenge_exercises,
)
from .models import MockInterview
from .quiz import QUIZ_COUNTS
from .stats import PracticeStats, practice_stats
from .stores import PracticeStore, session_data, valid_uuids


@dataclass
class LessonChoice:
    lesson: Lesson
    questions: int
    selected: bool


@dataclass
class Overview:
    lessons: list[LessonChoice]
    stats: PracticeStats
    cards_new: int
    exercises: list[Exercise]
    recent_mocks: list[MockInterview]
    quiz_counts: tuple[int, ...] = QUIZ_COUNTS
    mock_counts: tuple[int, ...] = MOCK_QUESTION_COUNTS
    mock_minutes: tuple[int, ...] = MOCK_MINUTES
    mock_default_count: int = MOCK_DEFAULT_QUESTIONS
    mock_default_minutes: int = MOCK_DEFAULT_MINUTES


def practice_overview(store: PracticeStore, user, session, preselected: Iterable[str] = ()) -> Overview:
    """Everything the practice page offers: lessons to quiz on, cards due, interviews to start or revisit."""
    wanted = set(preselected)
    # Aggregating drops Meta.ordering, so the course order is asked for again.
    lessons = Lesson.objects.annotate(question_count=Count("questions")).filter(question_count__gt=0).order_by("order")
    stats = practice_stats(store)
    question_ids = set(Question.objects.values_list("pk", flat=True))
    if user.is_authenticated:
        mocks = MockInterview.objects.filter(user=user)
    else:
        mocks = MockInterview.objects.filter(public_id__in=valid_uuids(session_data(session).get("mocks", [])))
    return Overview(
        lessons=[LessonChoice(lesson, lesson.question_count, lesson.slug in wanted) for lesson in lessons],
        stats=stats,
        cards_new=len(question_ids - set(store.cards())),
        exercises=challenge_exercises(),
        recent_mocks=list(mocks.order_by("-started_at")[:5]),
    )
