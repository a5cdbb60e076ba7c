"""Where a learner's practice history lives, and how a visitor's history becomes their account's.

A learner's history goes through a *store*: `AccountStore` (database tables) for a signed-in learner,
`SessionStore` (the Django session) for an anonymous visitor, so every practice mode works the same for
both. The session's history is moved into the account by `merge_session_into_account` when the visitor
logs in or signs up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from django.db import transaction
from django.utils import timezone

from lessons.models import Question

from .models import Card, MockInterview, PracticeAttempt
from .scheduling import START_EASE, CardState

# Caps on what the session keeps, so an anonymous visitor's session stays small.
SESSION_KEY = "practice"
SESSION_MAX_ATTEMPTS = 500


@dataclass(frozen=True)
class AttemptRow:
    question_id: int
    lesson_id: int
    correct: bool
    at: datetime
    mode: str = PracticeAttempt.Mode.QUIZ


class PracticeStore(Protocol):
    def record_attempt(self, question: Question, correct: bool, mode: str, at: datetime) -> None: ...
    def attempts(self) -> list[AttemptRow]: ...
    def cards(self) -> dict[int, CardState]: ...
    def save_card(self, question: Question, state: CardState) -> None: ...


def session_data(session) -> dict:
    """The session's practice data, for reading only: a visitor who only looks gets no session saved."""
    data = session.get(SESSION_KEY)
    return data if isinstance(data, dict) else {}


def writable_session_data(session) -> dict:
    """The session's practice data, for writing: marks the session modified, as nested changes go unseen."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        data = {}
    session[SESSION_KEY] = data
    session.modified = True
    return data


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def _card_to_json(state: CardState) -> dict:
    return {
        "due": _iso(state.due),
        "ease": state.ease,
        "interval": state.interval,
        "repetitions": state.repetitions,
        "lapses": state.lapses,
        "reviewed": _iso(state.last_reviewed_at) if state.last_reviewed_at else None,
    }


def _card_from_json(raw: object) -> CardState | None:
    # Session data is ours, but be forgiving: a malformed entry is dropped rather than crashing a page.
    if not isinstance(raw, dict) or _parse_time(raw.get("due")) is None:
        return None
    try:
        return CardState(
            due=_parse_time(raw["due"]),
            ease=float(raw.get("ease", START_EASE)),
            interval=int(raw.get("interval", 0)),
            repetitions=int(raw.get("repetitions", 0)),
            lapses=int(raw.get("lapses", 0)),
            last_reviewed_at=_parse_time(raw.get("reviewed")),
        )
    except (TypeError, ValueError):
        return None


class SessionStore:
    """An anonymous visitor's history, kept in their session until they log in."""

    def __init__(self, session) -> None:
        self.session = session

    def record_attempt(self, question: Question, correct: bool, mode: str, at: datetime) -> None:
        attempts = writable_session_data(self.session).setdefault("attempts", [])
        attempts.append({"q": question.pk, "c": bool(correct), "m": mode, "t": _iso(at)})
        del attempts[:-SESSION_MAX_ATTEMPTS]

    def attempts(self) -> list[AttemptRow]:
        raw = [
            a
            for a in session_data(self.session).get("attempts", [])
            if isinstance(a, dict) and isinstance(a.get("q"), int)
        ]
        lessons = dict(Question.objects.filter(pk__in=[a.get("q") for a in raw]).values_list("pk", "lesson_id"))
        rows = []
        for entry in raw:
            at = _parse_time(entry.get("t"))
            if entry.get("q") in lessons and at is not None:
                mode = entry.get("m") if entry.get("m") in PracticeAttempt.Mode.values else PracticeAttempt.Mode.QUIZ
                rows.append(AttemptRow(entry["q"], lessons[entry["q"]], bool(entry.get("c")), at, mode))
        return rows

    def cards(self) -> dict[int, CardState]:
        cards = {}
        for key, raw in session_data(self.session).get("cards", {}).items():
            state = _card_from_json(raw)
            if state is not None and str(key).isdigit():
                cards[int(key)] = state
        return cards

    def save_card(self, question: Question, state: CardState) -> None:
        writable_session_data(self.session).setdefault("cards", {})[str(question.pk)] = _card_to_json(state)


class AccountStore:
    """A signed-in learner's history, in PracticeAttempt and Card rows."""

    def __init__(self, user) -> None:
        self.user = user

    def record_attempt(self, question: Question, correct: bool, mode: str, at: datetime) -> None:
        PracticeAttempt.objects.create(user=self.user, question=question, correct=correct, mode=mode, answered_at=at)

    def attempts(self) -> list[AttemptRow]:
        rows = PracticeAttempt.objects.filter(user=self.user).values_list(
            "question_id", "question__lesson_id", "correct", "answered_at", "mode"
        )
        return [AttemptRow(*row) for row in rows]

    def cards(self) -> dict[int, CardState]:
        return {card.question_id: _card_state(card) for card in Card.objects.filter(user=self.user)}

    def save_card(self, question: Question, state: CardState) -> None:
        Card.objects.update_or_create(user=self.user, question=question, defaults=_card_fields(state))


def _card_state(card: Card) -> CardState:
    return CardState(
        due=card.due,
        ease=card.ease,
        interval=card.interval,
        repetitions=card.repetitions,
        lapses=card.lapses,
        last_reviewed_at=card.last_reviewed_at,
    )


def _card_fields(state: CardState) -> dict:
    return {
        "due": state.due,
        "ease": state.ease,
        "interval": state.interval,
        "repetitions": state.repetitions,
        "lapses": state.lapses,
        "last_reviewed_at": state.last_reviewed_at,
    }


def store_for(user, session) -> PracticeStore:
    return AccountStore(user) if user.is_authenticated else SessionStore(session)


# --------------------------------------------------------------------------------------------------------
# Log-in: the anonymous session's practice becomes the account's
# --------------------------------------------------------------------------------------------------------


def merge_session_into_account(session, user) -> None:
    """Move a visitor's attempts, cards and interviews into their account (called on log-in and sign-up).

    Quizzes in progress stay in the session and carry on, now recording to the account. Where the
    account already has a card for a question, the more recently reviewed state wins.
    """
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return
    source = SessionStore(session)
    attempts = source.attempts()
    session_cards = source.cards()
    existing_questions = set(Question.objects.filter(pk__in=session_cards).values_list("pk", flat=True))
    with transaction.atomic():
        PracticeAttempt.objects.bulk_create(
            PracticeAttempt(
                user=user, question_id=row.question_id, correct=row.correct, mode=row.mode, answered_at=row.at
            )
            for row in attempts
        )
        accounts = {card.question_id: card for card in Card.objects.filter(user=user, question__in=existing_questions)}
        for question_id, state in session_cards.items():
            card = accounts.get(question_id)
            if question_id in existing_questions and (card is None or _reviewed(state) > _reviewed(card)):
                Card.objects.update_or_create(user=user, question_id=question_id, defaults=_card_fields(state))
        MockInterview.objects.filter(public_id__in=valid_uuids(data.get("mocks", [])), user=None).update(user=user)
    for key in ("attempts", "cards"):
        data.pop(key, None)
    session.modified = True


def _reviewed(item: Card | CardState) -> datetime:
    return item.last_reviewed_at or datetime.min.replace(tzinfo=UTC)


def valid_uuids(values: Iterable) -> list[uuid.UUID]:
    valid = []
    for value in values:
        try:
            valid.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return valid
