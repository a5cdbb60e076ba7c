"""Timed mock interviews: mixed questions and a deadline fixed on the server; no feedback until the report.

The interview's Dockerfile challenge is in practice/challenge.py and its report in practice/report.py.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from lessons.models import Exercise, Question
from sandbox.labs.plan import MAIN_FILES, kind_of

from .learner_input import PracticeError, parse_count
from .models import MockInterview, PracticeAttempt
from .steps import Step, apply_answer, build_step, check_question_field, next_open_step, questions_by_id
from .stores import PracticeStore, session_data, writable_session_data

MOCK_QUESTION_COUNTS = (5, 8, 12)
MOCK_MINUTES = (10, 20, 30)
MOCK_DEFAULT_QUESTIONS = 8
MOCK_DEFAULT_MINUTES = 20
SESSION_MAX_MOCKS = 20


def challenge_exercises() -> list[Exercise]:
    """Exercises a mock interview can set: Dockerfiles, and labs (commands.sh or compose.yaml) alike."""
    return [e for e in Exercise.objects.select_related("lesson") if MAIN_FILES[kind_of(e)] in (e.starter_files or {})]


def _spread_questions(count: int, rng: random.Random) -> list[int]:
    """Mixed questions: one per lesson in turn, so a short interview still covers many topics."""
    pools: dict[int, list[int]] = {}
    for question_id, lesson_id in Question.objects.values_list("pk", "lesson_id"):
        pools.setdefault(lesson_id, []).append(question_id)
    for pool in pools.values():
        rng.shuffle(pool)
    lessons = list(pools)
    rng.shuffle(lessons)
    chosen: list[int] = []
    while len(chosen) < count and any(pools.values()):
        for lesson_id in lessons:
            if pools[lesson_id] and len(chosen) < count:
                chosen.append(pools[lesson_id].pop())
    return chosen


def start_mock(
    user, session, count: object, minutes: object, exercise_slug: str = "", rng: random.Random | None = None
) -> MockInterview:
    """Start a timed interview: questions, one hands-on challenge, and a deadline fixed now, on the server."""
    rng = rng or random.Random()
    count = parse_count(count, max(MOCK_QUESTION_COUNTS), MOCK_DEFAULT_QUESTIONS)
    minutes = parse_count(minutes, max(MOCK_MINUTES), MOCK_DEFAULT_MINUTES)
    exercises = challenge_exercises()
    if exercise_slug:
        exercise = next((e for e in exercises if e.slug == exercise_slug), None)
        if exercise is None:
            raise PracticeError(f"There is no exercise called '{exercise_slug}' to set as a challenge.")
    else:
        exercise = rng.choice(exercises) if exercises else None
    questions = _spread_questions(count, rng)
    if not questions:
        raise PracticeError("The course has no questions yet, so there is nothing to ask.")
    now = timezone.now()
    mock = MockInterview.objects.create(
        public_id=uuid.uuid4(),
        user=user if user.is_authenticated else None,
        started_at=now,
        deadline=now + timedelta(minutes=minutes),
        questions=questions,
        exercise=exercise,
    )
    if not user.is_authenticated:
        mocks = writable_session_data(session).setdefault("mocks", [])
        mocks.append(str(mock.public_id))
        del mocks[:-SESSION_MAX_MOCKS]
    return mock


def can_use_mock(mock: MockInterview, user, session) -> bool:
    if mock.user_id is not None:
        return user.is_authenticated and user.pk == mock.user_id
    return str(mock.public_id) in session_data(session).get("mocks", [])


def mock_is_over(mock: MockInterview, now: datetime | None = None) -> bool:
    return mock.finished_at is not None or (now or timezone.now()) >= mock.deadline


def seconds_left(mock: MockInterview, now: datetime | None = None) -> int:
    return max(0, math.ceil((mock.deadline - (now or timezone.now())).total_seconds()))


def mock_next_step(mock: MockInterview, now: datetime | None = None) -> str | int:
    """Where the learner goes next: a question number, 'challenge', or 'report' once done or out of time."""
    if mock_is_over(mock, now):
        return "report"
    number = next_open_step(mock.answers, mock.questions)
    if number is not None:
        return number
    if mock.exercise_id and mock.submission_id is None and not mock.challenge_result:
        return "challenge"
    return "report"


def mock_step(mock: MockInterview, number: int) -> Step:
    ids = mock.questions
    if not 1 <= number <= len(ids):
        raise PracticeError(f"This interview has questions 1 to {len(ids)}.")
    question = questions_by_id([ids[number - 1]]).get(ids[number - 1])
    if question is None:
        raise PracticeError("This question was removed from the course.")
    # No feedback during an interview (as in a real one): the report comes at the end.
    return build_step(question, number, len(ids), mock.answers.get(str(question.pk)), str(mock.public_id), False)


class TimeUp(PracticeError):
    """An answer that arrived after the interview ended (deadline passed or finished early); not counted."""

    @classmethod
    def for_mock(cls, mock: MockInterview, what: str = "answers") -> TimeUp:
        verb = "is" if what != "answers" else "are"
        if mock.finished_at is not None and mock.finished_at < mock.deadline:
            return cls(f"This interview has ended: {what} sent after it ended {verb} not counted.")
        return cls(f"Time is up: {what} sent after the deadline {verb} not counted.")


def answer_mock(store: PracticeStore, mock: MockInterview, number: int, data: Mapping) -> MockInterview:
    """Grade and keep one interview answer, unless the deadline has passed (then raise TimeUp)."""
    with transaction.atomic():
        mock = MockInterview.objects.select_for_update().get(pk=mock.pk)
        now = timezone.now()
        if mock_is_over(mock, now):
            raise TimeUp.for_mock(mock)
        step = mock_step(mock, number)
        check_question_field(data, step.question.pk)
        result = apply_answer(step.question, mock.answers, data, str(mock.public_id), now)
        mock.answers = {**mock.answers, str(step.question.pk): result}
        finish_if_done(mock, now)
        mock.save(update_fields=["answers", "finished_at"])
        if result["correct"] is not None:
            store.record_attempt(step.question, result["correct"], PracticeAttempt.Mode.MOCK, now)
    return mock


def finish_if_done(mock: MockInterview, now: datetime) -> None:
    # With nothing left to answer the interview is over: the clock stops and the report is ready.
    if mock.finished_at is None and mock_next_step(mock, now) == "report":
        mock.finished_at = now


def finish_mock(mock: MockInterview) -> MockInterview:
    if mock.finished_at is None:
        mock.finished_at = min(timezone.now(), mock.deadline)
        mock.save(update_fields=["finished_at"])
    return mock
