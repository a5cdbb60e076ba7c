"""Quizzes. Their state is in the session for everyone (a quiz is short-lived); their answers go to the store."""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import timezone

from lessons.models import Lesson, Question

from .learner_input import PracticeError, lessons_from_slugs, parse_count
from .models import PracticeAttempt
from .steps import (
    Step,
    TopicScore,
    apply_answer,
    build_step,
    check_question_field,
    next_open_step,
    questions_by_id,
    topic_scores,
)
from .stores import PracticeStore, session_data, writable_session_data

QUIZ_MAX_QUESTIONS = 50
QUIZ_COUNTS = (5, 10, 15, 20)
SESSION_MAX_QUIZZES = 5


def start_quiz(session, lesson_slugs: list[str], count: object, rng: random.Random | None = None) -> str:
    """Pick questions from the chosen lessons (all lessons if none) and open a quiz; return its id."""
    rng = rng or random.Random()
    lessons = lessons_from_slugs(lesson_slugs) if lesson_slugs else list(Lesson.objects.all())
    wanted = parse_count(count, QUIZ_MAX_QUESTIONS, QUIZ_COUNTS[1])
    pool = list(Question.objects.filter(lesson__in=lessons).values_list("pk", flat=True))
    if not pool:
        raise PracticeError("Those lessons have no questions yet. Pick other lessons.")
    chosen = rng.sample(pool, min(wanted, len(pool)))
    quiz_id = secrets.token_urlsafe(9)
    quizzes = writable_session_data(session).setdefault("quizzes", {})
    quizzes[quiz_id] = {"questions": chosen, "results": {}, "started": timezone.now().isoformat()}
    for stale in sorted(quizzes, key=lambda key: quizzes[key].get("started", ""))[:-SESSION_MAX_QUIZZES]:
        del quizzes[stale]
    return quiz_id


def _quiz(session, quiz_id: str) -> dict:
    quiz = session_data(session).get("quizzes", {}).get(quiz_id)
    if not isinstance(quiz, dict):
        raise PracticeError("This quiz is not part of your session (it may have expired). Start a new one.")
    return quiz


def quiz_step(session, quiz_id: str, number: int) -> Step:
    quiz = _quiz(session, quiz_id)
    ids = quiz["questions"]
    if not 1 <= number <= len(ids):
        raise PracticeError(f"This quiz has questions 1 to {len(ids)}.")
    question = questions_by_id([ids[number - 1]]).get(ids[number - 1])
    if question is None:
        raise PracticeError("This question was removed from the course. Start a new quiz.")
    step = build_step(question, number, len(ids), quiz["results"].get(str(question.pk)), quiz_id, reveal=True)
    step.next_number = next_open_step(quiz["results"], ids)
    return step


def answer_quiz(store: PracticeStore, session, quiz_id: str, number: int, data: Mapping) -> Step:
    """Grade the answer to question `number` of a quiz, record it once final, and return the step."""
    quiz = _quiz(session, quiz_id)
    step = quiz_step(session, quiz_id, number)
    check_question_field(data, step.question.pk)
    now = timezone.now()
    result = apply_answer(step.question, quiz["results"], data, quiz_id, now)
    quiz["results"][str(step.question.pk)] = result
    session.modified = True
    if result["correct"] is not None:
        store.record_attempt(step.question, result["correct"], PracticeAttempt.Mode.QUIZ, now)
    return quiz_step(session, quiz_id, number)


@dataclass
class QuizSummary:
    quiz_id: str
    steps: list[Step]
    topics: list[TopicScore]
    next_number: int | None

    @property
    def answered(self) -> int:
        return sum(1 for step in self.steps if step.correct is not None)

    @property
    def right(self) -> int:
        return sum(1 for step in self.steps if step.correct)

    @property
    def percent(self) -> int:
        return round(100 * self.right / self.answered) if self.answered else 0


def quiz_summary(session, quiz_id: str) -> QuizSummary:
    quiz = _quiz(session, quiz_id)
    ids = quiz["questions"]
    questions = questions_by_id(ids)
    steps = [
        build_step(questions[qid], number, len(ids), quiz["results"].get(str(qid)), quiz_id, reveal=False)
        for number, qid in enumerate(ids, start=1)
        if qid in questions
    ]
    return QuizSummary(
        quiz_id, steps, topic_scores([s for s in steps if s.correct is not None]), next_open_step(quiz["results"], ids)
    )
