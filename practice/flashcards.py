"""Flashcards: due cards first, then questions never studied, each rescheduled by the learner's rating."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from lessons.models import Lesson, Question

from .answers import QuestionFront, Solution, present_front, present_solution
from .learner_input import BadAnswer, PracticeError, as_int, form_values, lessons_from_slugs
from .models import PracticeAttempt
from .scheduling import CardState, Rating, rating_previews, schedule
from .stores import PracticeStore, session_data, writable_session_data

SESSION_MAX_SHOWN_CARDS = 50


@dataclass
class Flashcard:
    front: QuestionFront
    solution: Solution
    state: CardState
    is_new: bool
    previews: list[tuple[Rating, str]]
    due_count: int
    new_count: int


@dataclass
class FlashcardDeck:
    card: Flashcard | None
    due_count: int
    new_count: int
    next_due: datetime | None


def _question_pool(lessons: list[Lesson] | None):
    pool = Question.objects.select_related("lesson")
    return pool.filter(lesson__in=lessons) if lessons else pool


def next_flashcard(
    store: PracticeStore, session, lesson_slugs: list[str], now: datetime | None = None
) -> FlashcardDeck:
    """Due cards first (the most overdue first), then questions never studied, in course order."""
    now = now or timezone.now()
    lessons = lessons_from_slugs(lesson_slugs) if lesson_slugs else None
    questions = list(_question_pool(lessons))
    cards = store.cards()
    due = sorted((q for q in questions if q.pk in cards and cards[q.pk].due <= now), key=lambda q: cards[q.pk].due)
    new = [q for q in questions if q.pk not in cards]
    later = [cards[q.pk].due for q in questions if q.pk in cards and cards[q.pk].due > now]
    deck = FlashcardDeck(None, len(due), len(new), min(later) if later else None)
    question = (due or new or [None])[0]
    if question is None:
        return deck
    state = cards.get(question.pk) or CardState.new(now)
    shown = writable_session_data(session).setdefault("shown_cards", [])
    if question.pk not in shown:
        shown.append(question.pk)
        del shown[:-SESSION_MAX_SHOWN_CARDS]
    salt = flashcard_salt(session)
    deck.card = Flashcard(
        front=present_front(question, salt),
        solution=present_solution(question, salt),
        state=state,
        is_new=question.pk not in cards,
        previews=rating_previews(state, now),
        due_count=len(due),
        new_count=len(new),
    )
    return deck


def flashcard_salt(session) -> str:
    """This session's salt for the order of flashcard options and items: random, made once, kept in the session.

    So the order is the learner's own (another learner's session has another salt) and the same on every
    reload. Signing in keeps the session's data, and with it the order.
    """
    data = writable_session_data(session)
    salt = data.get("card_salt")
    if not isinstance(salt, str) or not salt:
        salt = data["card_salt"] = "card-" + secrets.token_urlsafe(12)
    return salt


def review_flashcard(store: PracticeStore, session, data: Mapping, now: datetime | None = None) -> CardState:
    """Reschedule the card the learner just rated, and count the review as an attempt (again = missed)."""
    now = now or timezone.now()
    values = form_values(data, "question")
    try:
        question_id = as_int(values[0], "The card") if len(values) == 1 else None
    except BadAnswer:
        question_id = None
    shown = session_data(session).get("shown_cards", [])
    if question_id is None or question_id not in shown:
        raise PracticeError("That card was not shown in this session. Reload the flashcards and try again.")
    question = Question.objects.filter(pk=question_id).first()
    if question is None:
        raise PracticeError("That card is no longer in the course.")
    ratings = form_values(data, "rating")
    if len(ratings) != 1 or ratings[0] not in {rating.value for rating in Rating}:
        raise PracticeError("Rate your recall as again, hard, good or easy.")
    rating = Rating(ratings[0])
    state = store.cards().get(question.pk) or CardState.new(now)
    new_state = schedule(state, rating, now)
    store.save_card(question, new_state)
    store.record_attempt(question, rating is not Rating.AGAIN, PracticeAttempt.Mode.FLASHCARD, now)
    shown.remove(question_id)
    session.modified = True
    return new_state
