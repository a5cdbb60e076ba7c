"""Interview-prep practice: grading, spaced repetition, quizzes, flashcards, mock interviews and stats.

Views parse requests and check ownership; everything else happens here, in plain functions. A learner's
history goes through a *store*: `AccountStore` (database tables) for a signed-in learner, `SessionStore`
(the Django session) for an anonymous visitor, so every mode works the same for both. The session's
history is moved into the account by `merge_session_into_account` when the visitor logs in or signs up.

Anything a learner sends is treated as hostile: an answer that names an unknown option, a question that
was not asked, or a value of the wrong type raises `PracticeError`, which views turn into HTTP 400 with the
error's message. Nothing is recorded for a refused answer.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from practice.models import Card, MockInterview, PracticeAttempt

from .markdown import render_markdown
from .models import Exercise, Lesson, Question

# --------------------------------------------------------------------------------------------------------
# Limits and settings
# --------------------------------------------------------------------------------------------------------

QUIZ_MAX_QUESTIONS = 50
QUIZ_COUNTS = (5, 10, 15, 20)
MOCK_QUESTION_COUNTS = (5, 8, 12)
MOCK_MINUTES = (10, 20, 30)
MOCK_DEFAULT_QUESTIONS = 8
MOCK_DEFAULT_MINUTES = 20
# The Dockerfile challenge counts as this many questions in a mock interview's overall score.
CHALLENGE_WEIGHT = 2
# A topic at or above this share of right answers is a strength; below it, something to review.
STRONG_TOPIC = 0.75
MAX_TEXT_ANSWER = 5000
MAX_DOCKERFILE_BYTES = 256 * 1024
# Caps on what the session keeps, so an anonymous visitor's session stays small.
SESSION_KEY = "practice"
SESSION_MAX_ATTEMPTS = 500
SESSION_MAX_QUIZZES = 5
SESSION_MAX_MOCKS = 20
SESSION_MAX_SHOWN_CARDS = 50
STATS_WEEKS = 4

SIGN_UP_FOR_SANDBOX = "Sign up to have your Dockerfile built and run in the sandbox."


class PracticeError(Exception):
    """Input that cannot be accepted (tampered, stale or malformed). The message is shown to the learner."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadAnswer(PracticeError):
    """An answer to a question that was rightly asked, but in a form that cannot be graded."""


# --------------------------------------------------------------------------------------------------------
# Presenting questions
# --------------------------------------------------------------------------------------------------------


def markdown_html(text: str) -> SafeString:
    # render_markdown sanitises with nh3, so its output is safe to mark as such.
    return mark_safe(render_markdown(text or "").html)  # noqa: S308


def inline_html(text: str) -> SafeString:
    """Render a one-line Markdown snippet (an option, an item) without the wrapping paragraph."""
    html = render_markdown(str(text)).html.strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return mark_safe(html)  # noqa: S308


def order_tokens(question: Question, salt: str) -> list[str]:
    """Opaque, stable tokens for an order question's items, listed in the correct order.

    The browser only ever sees tokens, in a shuffled order, so the page does not give the answer away.
    They are keyed with the server's secret and a salt (the quiz or interview id), so they differ
    between quizzes and cannot be computed by the learner.
    """
    secret = settings.SECRET_KEY.encode()
    items = question.data.get("items") or []
    return [
        hmac.new(secret, f"{salt}|{question.key}|{index}|{item}".encode(), hashlib.sha256).hexdigest()[:16]
        for index, item in enumerate(items)
    ]


def shuffled_order(question: Question, salt: str) -> list[int]:
    """Item indexes in the order they are shown: sorted by token, which is random-looking but stable."""
    tokens = order_tokens(question, salt)
    order = sorted(range(len(tokens)), key=tokens.__getitem__)
    if order == sorted(order) and len(order) > 1:
        # Never show the answer itself as the starting order.
        order = order[1:] + order[:1]
    return order


def code_lines(question: Question) -> list[str]:
    return (question.data.get("code") or "").rstrip("\n").splitlines()


@dataclass
class QuestionFront:
    """What the learner sees before answering: nothing here gives the answer away."""

    question: Question
    prompt_html: SafeString
    options: list[tuple[int, SafeString]] = field(default_factory=list)
    code: list[tuple[int, str]] = field(default_factory=list)
    items: list[tuple[str, SafeString]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.question.kind

    @property
    def positions(self) -> range:
        return range(1, len(self.items) + 1)


def present_front(question: Question, salt: str) -> QuestionFront:
    front = QuestionFront(question=question, prompt_html=markdown_html(question.prompt))
    data = question.data
    if question.kind in (Question.Kind.CHOICE, Question.Kind.MULTI):
        front.options = [(index, inline_html(option)) for index, option in enumerate(data.get("options") or [])]
    elif question.kind == Question.Kind.SPOT_BUG:
        front.code = list(enumerate(code_lines(question), start=1))
    elif question.kind == Question.Kind.ORDER:
        items = data.get("items") or []
        tokens = order_tokens(question, salt)
        front.items = [(tokens[index], inline_html(items[index])) for index in shuffled_order(question, salt)]
    return front


@dataclass
class Solution:
    """The right answer and why, shown after answering (or on the back of a flashcard)."""

    question: Question
    explanation_html: SafeString
    section_url: str
    options: list[tuple[int, SafeString, bool]] = field(default_factory=list)
    line: int | None = None
    line_text: str = ""
    items: list[SafeString] = field(default_factory=list)
    model_answer_html: SafeString | str = ""
    key_points: list[str] = field(default_factory=list)


def present_solution(question: Question) -> Solution:
    data = question.data
    solution = Solution(
        question=question, explanation_html=markdown_html(question.explanation), section_url=question.section_url()
    )
    if question.kind in (Question.Kind.CHOICE, Question.Kind.MULTI):
        right = set(_right_options(question))
        solution.options = [
            (index, inline_html(option), index in right) for index, option in enumerate(data.get("options") or [])
        ]
    elif question.kind == Question.Kind.SPOT_BUG:
        lines = code_lines(question)
        solution.line = data.get("answer")
        if isinstance(solution.line, int) and 1 <= solution.line <= len(lines):
            solution.line_text = lines[solution.line - 1]
    elif question.kind == Question.Kind.ORDER:
        solution.items = [inline_html(item) for item in data.get("items") or []]
    elif question.kind == Question.Kind.TEXT:
        solution.model_answer_html = markdown_html(data.get("model_answer", ""))
        solution.key_points = [str(point) for point in data.get("key_points") or []]
    return solution


def _right_options(question: Question) -> list[int]:
    answer = question.data.get("answer")
    return list(answer) if isinstance(answer, list) else [answer]


# --------------------------------------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------------------------------------


@dataclass
class Graded:
    """The verdict on one answer.

    `correct` is None for a text answer until the learner has compared it with the model answer and said
    whether they got it. `answer` is the answer in a JSON-friendly form, kept to show it back later.
    """

    correct: bool | None
    answer: Any
    credit: float = 0.0
    key_points: list[tuple[str, bool]] = field(default_factory=list)
    suggestion: str = ""


def _values(data: Mapping, name: str) -> list:
    """All values of a form field, from a QueryDict or a plain mapping (as tests and JSON send them)."""
    if hasattr(data, "getlist"):
        return data.getlist(name)
    value = data.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _as_int(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise BadAnswer(f"{what} must be a whole number.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
        return int(value.strip())
    raise BadAnswer(f"{what} must be a whole number.")


def _option_index(value: object, count: int) -> int:
    index = _as_int(value, "An option")
    if not 0 <= index < count:
        raise BadAnswer(f"This question has no option {index}.")
    return index


def grade_choice(question: Question, data: Mapping) -> Graded:
    values = _values(data, "answer")
    if not values:
        raise BadAnswer("Choose one of the options.")
    if len(values) > 1:
        raise BadAnswer("Choose exactly one option.")
    index = _option_index(values[0], len(question.data.get("options") or []))
    right = question.data.get("answer")
    return Graded(correct=index == right, answer=index, credit=float(index == right))


def grade_multi(question: Question, data: Mapping) -> Graded:
    count = len(question.data.get("options") or [])
    chosen = [_option_index(value, count) for value in _values(data, "answer")]
    if len(set(chosen)) != len(chosen):
        raise BadAnswer("Each option can be chosen only once.")
    right = set(_right_options(question))
    picked = set(chosen)
    # Partial credit is shown, never counted: the verdict needs the exact set, as an interviewer would.
    credit = max(0.0, (len(picked & right) - len(picked - right)) / len(right)) if right else float(not picked)
    return Graded(correct=picked == right, answer=sorted(picked), credit=credit)


def grade_spot_bug(question: Question, data: Mapping) -> Graded:
    values = _values(data, "answer")
    if len(values) != 1:
        raise BadAnswer("Choose the one line with the bug.")
    line = _as_int(values[0], "The line")
    if not 1 <= line <= len(code_lines(question)):
        raise BadAnswer(f"The code has no line {line}.")
    right = question.data.get("answer")
    return Graded(correct=line == right, answer=line, credit=float(line == right))


def grade_order(question: Question, data: Mapping, salt: str) -> Graded:
    """Positions arrive as `position-<token>` = 1..n; tokens map back to items on the server only."""
    tokens = order_tokens(question, salt)
    sent = {key[len("position-") :]: key for key in data if isinstance(key, str) and key.startswith("position-")}
    if set(sent) != set(tokens):
        raise BadAnswer("The answer must place exactly the items of this question.")
    positions: dict[int, int] = {}
    for index, token in enumerate(tokens):
        values = _values(data, sent[token])
        if len(values) != 1:
            raise BadAnswer("Give each item one position.")
        position = _as_int(values[0], "A position")
        if not 1 <= position <= len(tokens):
            raise BadAnswer(f"Positions go from 1 to {len(tokens)}.")
        if position in positions:
            raise BadAnswer(f"Two items are both in position {position}; give each item its own position.")
        positions[position] = index
    learner_order = [positions[position] for position in sorted(positions)]
    in_place = sum(1 for place, index in enumerate(learner_order) if place == index)
    return Graded(
        correct=learner_order == list(range(len(tokens))), answer=learner_order, credit=in_place / len(tokens)
    )


STOP_WORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or so that the their them then "
    "there these this to was were when which while with without you your not no only can does do".split()
)


def _stems(text: str) -> set[str]:
    # A crude stemmer is enough for a suggestion: "containers"/"container" and "caching"/"cached" meet.
    return {word[:5] for word in re.findall(r"[a-z0-9]+", text.lower()) if word not in STOP_WORDS and len(word) > 1}


def key_point_matches(answer: str, key_points: Iterable[str]) -> list[tuple[str, bool]]:
    """Which key points an answer seems to mention: at least half of a point's significant words appear."""
    said = _stems(answer)
    matches = []
    for point in key_points:
        words = _stems(str(point))
        needed = math.ceil(len(words) / 2)
        matches.append((str(point), bool(words) and len(words & said) >= needed))
    return matches


def grade_text(question: Question, data: Mapping) -> Graded:
    """First step of a text question: keep the answer and suggest a verdict from the key points."""
    values = _values(data, "answer")
    if len(values) != 1 or not isinstance(values[0], str):
        raise BadAnswer("Write your answer as text.")
    text = values[0].strip()
    if not text:
        raise BadAnswer("Write your answer first (or skip the question).")
    if len(text) > MAX_TEXT_ANSWER:
        raise BadAnswer(f"Keep the answer under {MAX_TEXT_ANSWER} characters.")
    matches = key_point_matches(text, question.data.get("key_points") or [])
    hits = sum(matched for _, matched in matches)
    suggestion = ""
    if matches:
        suggestion = "got" if hits * 2 >= len(matches) else "missed"
    return Graded(
        correct=None,
        answer={"text": text},
        credit=hits / len(matches) if matches else 0.0,
        key_points=matches,
        suggestion=suggestion,
    )


def self_assess(data: Mapping) -> bool:
    """Second step of a text question: the learner says whether their answer matched the model answer."""
    values = _values(data, "verdict")
    if values not in (["got"], ["missed"]):
        raise BadAnswer("Say whether you got it or missed it.")
    return values == ["got"]


def grade_answer(question: Question, data: Mapping, salt: str) -> Graded:
    """Grade one submitted answer. Raises BadAnswer, and records nothing, if it cannot be graded."""
    if _values(data, "skip") == ["1"]:
        return Graded(correct=False, answer=None)
    graders = {
        Question.Kind.CHOICE: grade_choice,
        Question.Kind.MULTI: grade_multi,
        Question.Kind.SPOT_BUG: grade_spot_bug,
        Question.Kind.TEXT: grade_text,
    }
    if question.kind == Question.Kind.ORDER:
        return grade_order(question, data, salt)
    if question.kind not in graders:
        raise PracticeError(f"Questions of type '{question.kind}' cannot be practised yet.")
    return graders[question.kind](question, data)


def describe_answer(question: Question, answer: Any) -> list[SafeString | str]:
    """The learner's own answer, as lines of HTML to show next to the right one."""
    if answer is None:
        return ["(skipped)"]
    data = question.data
    if question.kind in (Question.Kind.CHOICE, Question.Kind.MULTI):
        options = data.get("options") or []
        chosen = answer if isinstance(answer, list) else [answer]
        return [inline_html(options[index]) for index in chosen if 0 <= index < len(options)] or ["(nothing)"]
    if question.kind == Question.Kind.SPOT_BUG:
        lines = code_lines(question)
        return [f"line {answer}: {lines[answer - 1]}" if 1 <= answer <= len(lines) else f"line {answer}"]
    if question.kind == Question.Kind.ORDER:
        items = data.get("items") or []
        return [inline_html(items[index]) for index in answer if 0 <= index < len(items)]
    if question.kind == Question.Kind.TEXT:
        return [answer.get("text", "")]
    return []


# --------------------------------------------------------------------------------------------------------
# Spaced repetition (SM-2, with Anki-style again/hard/good/easy buttons)
# --------------------------------------------------------------------------------------------------------


class Rating(StrEnum):
    AGAIN = "again"
    HARD = "hard"
    GOOD = "good"
    EASY = "easy"


# SM-2 grades recall 0-5; the four buttons map onto the passing grades and one failing grade.
QUALITY = {Rating.AGAIN: 1, Rating.HARD: 3, Rating.GOOD: 4, Rating.EASY: 5}
MIN_EASE = 1.3
START_EASE = 2.5
# A forgotten card comes back in the same sitting rather than tomorrow.
RELEARN_DELAY = timedelta(minutes=10)
FIRST_INTERVALS = {Rating.HARD: 1, Rating.GOOD: 1, Rating.EASY: 4}
SECOND_INTERVALS = {Rating.HARD: 3, Rating.GOOD: 6, Rating.EASY: 8}
HARD_FACTOR = 1.2
EASY_BONUS = 1.3


@dataclass(frozen=True)
class CardState:
    due: datetime
    ease: float = START_EASE
    interval: int = 0
    repetitions: int = 0
    lapses: int = 0
    last_reviewed_at: datetime | None = None

    @classmethod
    def new(cls, now: datetime) -> CardState:
        return cls(due=now)


def schedule(state: CardState, rating: Rating, now: datetime) -> CardState:
    """The card's next state after a review at `now`. Pure: same input, same output (tests use fixed dates)."""
    quality = QUALITY[rating]
    if rating is Rating.AGAIN:
        return replace(
            state,
            ease=max(MIN_EASE, state.ease - 0.2),
            interval=0,
            repetitions=0,
            lapses=state.lapses + 1,
            due=now + RELEARN_DELAY,
            last_reviewed_at=now,
        )
    # SM-2's ease update: +0.10 for easy, unchanged for good, -0.14 for hard.
    ease = max(MIN_EASE, state.ease + 0.1 - (5 - quality) * (0.08 + (5 - quality) * 0.02))
    repetitions = state.repetitions + 1
    if repetitions == 1:
        interval = FIRST_INTERVALS[rating]
    elif repetitions == 2:
        interval = SECOND_INTERVALS[rating]
    else:
        factor = {Rating.HARD: HARD_FACTOR, Rating.GOOD: ease, Rating.EASY: ease * EASY_BONUS}[rating]
        # Always at least a day more than last time, so a card never gets stuck at the same interval.
        interval = max(state.interval + 1, math.ceil(state.interval * factor))
    return CardState(
        due=now + timedelta(days=interval),
        ease=round(ease, 4),
        interval=interval,
        repetitions=repetitions,
        lapses=state.lapses,
        last_reviewed_at=now,
    )


def describe_delay(delta: timedelta) -> str:
    if delta < timedelta(hours=1):
        return f"{max(1, round(delta.total_seconds() / 60))} min"
    days = round(delta.total_seconds() / 86400)
    return "1 day" if days == 1 else f"{days} days"


def rating_previews(state: CardState, now: datetime) -> list[tuple[Rating, str]]:
    """Each button with when the card would come back, so the learner sees what a rating means."""
    return [(rating, describe_delay(schedule(state, rating, now).due - now)) for rating in Rating]


# --------------------------------------------------------------------------------------------------------
# Stores: where a learner's history lives
# --------------------------------------------------------------------------------------------------------


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


def _stored(session) -> dict:
    """The session's practice data, for reading only: a visitor who only looks gets no session saved."""
    data = session.get(SESSION_KEY)
    return data if isinstance(data, dict) else {}


def _bucket(session) -> dict:
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
        attempts = _bucket(self.session).setdefault("attempts", [])
        attempts.append({"q": question.pk, "c": bool(correct), "m": mode, "t": _iso(at)})
        del attempts[:-SESSION_MAX_ATTEMPTS]

    def attempts(self) -> list[AttemptRow]:
        raw = [
            a for a in _stored(self.session).get("attempts", []) if isinstance(a, dict) and isinstance(a.get("q"), int)
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
        for key, raw in _stored(self.session).get("cards", {}).items():
            state = _card_from_json(raw)
            if state is not None and str(key).isdigit():
                cards[int(key)] = state
        return cards

    def save_card(self, question: Question, state: CardState) -> None:
        _bucket(self.session).setdefault("cards", {})[str(question.pk)] = _card_to_json(state)


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
# Steps shared by quizzes and mock interviews
# --------------------------------------------------------------------------------------------------------


@dataclass
class Step:
    """One question of a quiz or mock interview, in one of three states: ask, assess (text) or answered."""

    number: int
    total: int
    front: QuestionFront
    result: dict | None = None
    solution: Solution | None = None
    key_points: list[tuple[str, bool]] = field(default_factory=list)
    suggestion: str = ""
    your_answer: list = field(default_factory=list)
    # The next question still open (quizzes), or None when every question has its answer.
    next_number: int | None = None

    @property
    def state(self) -> str:
        if self.result is None:
            return "ask"
        return "assess" if self.result.get("correct") is None else "answered"

    @property
    def question(self) -> Question:
        return self.front.question

    @property
    def correct(self) -> bool | None:
        return None if self.result is None else self.result.get("correct")


def _build_step(question: Question, number: int, total: int, result: dict | None, salt: str, reveal: bool) -> Step:
    step = Step(number=number, total=total, front=present_front(question, salt), result=result)
    if result is None:
        return step
    if step.state == "assess":
        # The learner must see the model answer to judge their own.
        step.solution = present_solution(question)
        step.key_points = [(point, bool(hit)) for point, hit in result.get("key_points", [])]
        step.suggestion = result.get("suggestion", "")
    elif reveal:
        step.solution = present_solution(question)
    step.your_answer = describe_answer(question, result.get("answer"))
    return step


def _result_json(graded: Graded, at: datetime) -> dict:
    result = {"correct": graded.correct, "answer": graded.answer, "credit": round(graded.credit, 3), "at": _iso(at)}
    if graded.correct is None:
        result["key_points"] = [[point, hit] for point, hit in graded.key_points]
        result["suggestion"] = graded.suggestion
    return result


def _apply_answer(question: Question, results: dict, data: Mapping, salt: str, at: datetime) -> dict:
    """Grade an answer to a question of a quiz or interview and return its new result (not yet recorded)."""
    current = results.get(str(question.pk))
    if current is not None and current.get("correct") is not None:
        raise PracticeError("This question has already been answered.")
    if current is not None:
        # The second step of a text question: only the learner's verdict is accepted now.
        return {**current, "correct": self_assess(data), "at": _iso(at)}
    return _result_json(grade_answer(question, data, salt), at)


def _questions_by_id(ids: list[int]) -> dict[int, Question]:
    return Question.objects.select_related("lesson").in_bulk(ids)


def _check_question_field(data: Mapping, expected: int) -> None:
    """The form names its question; it must be the one asked at this step (not another quiz's, not made up)."""
    values = _values(data, "question")
    if len(values) != 1:
        raise PracticeError("The answer does not say which question it answers.")
    try:
        sent = _as_int(values[0], "The question id")
    except BadAnswer:
        raise PracticeError("The question id must be a whole number.") from None
    if sent != expected:
        raise PracticeError("That question was not asked at this step of your practice.")


# --------------------------------------------------------------------------------------------------------
# Quizzes (state in the session for everyone: a quiz is short-lived; its answers go to the store)
# --------------------------------------------------------------------------------------------------------


def _lessons_from_slugs(slugs: list[str]) -> list[Lesson]:
    if not all(isinstance(slug, str) for slug in slugs):
        raise PracticeError("Lessons are named by their slugs.")
    lessons = list(Lesson.objects.filter(slug__in=set(slugs)))
    unknown = sorted(set(slugs) - {lesson.slug for lesson in lessons})
    if unknown:
        raise PracticeError(f"There is no lesson called '{unknown[0]}'.")
    return lessons


def _parse_count(value: object, allowed_max: int, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        count = _as_int(value, "The number of questions")
    except BadAnswer as error:
        raise PracticeError(error.message) from None
    if not 1 <= count <= allowed_max:
        raise PracticeError(f"Choose between 1 and {allowed_max} questions.")
    return count


def start_quiz(session, lesson_slugs: list[str], count: object, rng: random.Random | None = None) -> str:
    """Pick questions from the chosen lessons (all lessons if none) and open a quiz; return its id."""
    rng = rng or random.Random()
    lessons = _lessons_from_slugs(lesson_slugs) if lesson_slugs else list(Lesson.objects.all())
    wanted = _parse_count(count, QUIZ_MAX_QUESTIONS, QUIZ_COUNTS[1])
    pool = list(Question.objects.filter(lesson__in=lessons).values_list("pk", flat=True))
    if not pool:
        raise PracticeError("Those lessons have no questions yet. Pick other lessons.")
    chosen = rng.sample(pool, min(wanted, len(pool)))
    quiz_id = secrets.token_urlsafe(9)
    quizzes = _bucket(session).setdefault("quizzes", {})
    quizzes[quiz_id] = {"questions": chosen, "results": {}, "started": _iso(timezone.now())}
    for stale in sorted(quizzes, key=lambda key: quizzes[key].get("started", ""))[:-SESSION_MAX_QUIZZES]:
        del quizzes[stale]
    return quiz_id


def _quiz(session, quiz_id: str) -> dict:
    quiz = _stored(session).get("quizzes", {}).get(quiz_id)
    if not isinstance(quiz, dict):
        raise PracticeError("This quiz is not part of your session (it may have expired). Start a new one.")
    return quiz


def quiz_step(session, quiz_id: str, number: int) -> Step:
    quiz = _quiz(session, quiz_id)
    ids = quiz["questions"]
    if not 1 <= number <= len(ids):
        raise PracticeError(f"This quiz has questions 1 to {len(ids)}.")
    question = _questions_by_id([ids[number - 1]]).get(ids[number - 1])
    if question is None:
        raise PracticeError("This question was removed from the course. Start a new quiz.")
    step = _build_step(question, number, len(ids), quiz["results"].get(str(question.pk)), quiz_id, reveal=True)
    step.next_number = next_open_step(quiz["results"], ids)
    return step


def answer_quiz(store: PracticeStore, session, quiz_id: str, number: int, data: Mapping) -> Step:
    """Grade the answer to question `number` of a quiz, record it once final, and return the step."""
    quiz = _quiz(session, quiz_id)
    step = quiz_step(session, quiz_id, number)
    _check_question_field(data, step.question.pk)
    now = timezone.now()
    result = _apply_answer(step.question, quiz["results"], data, quiz_id, now)
    quiz["results"][str(step.question.pk)] = result
    session.modified = True
    if result["correct"] is not None:
        store.record_attempt(step.question, result["correct"], PracticeAttempt.Mode.QUIZ, now)
    return quiz_step(session, quiz_id, number)


def next_open_step(quiz_or_mock_results: dict, ids: list[int]) -> int | None:
    """The first question (1-based) that still needs an answer or a verdict, or None when all are done."""
    for number, question_id in enumerate(ids, start=1):
        result = quiz_or_mock_results.get(str(question_id))
        if result is None or result.get("correct") is None:
            return number
    return None


@dataclass
class TopicScore:
    lesson: Lesson
    right: float = 0.0
    total: float = 0.0
    review_links: list[tuple[str, str]] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(100 * self.right / self.total) if self.total else 0

    @property
    def strong(self) -> bool:
        return bool(self.total) and self.right / self.total >= STRONG_TOPIC


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


def _topics(steps: list[Step]) -> list[TopicScore]:
    topics: dict[int, TopicScore] = {}
    for step in steps:
        lesson = step.question.lesson
        topic = topics.setdefault(lesson.pk, TopicScore(lesson))
        topic.total += 1
        topic.right += 1 if step.correct else 0
        if not step.correct:
            link = (step.question.section_url(), _section_title(step.question))
            if link not in topic.review_links:
                topic.review_links.append(link)
    return sorted(topics.values(), key=lambda topic: topic.lesson.order)


def _section_title(question: Question) -> str:
    for entry in question.lesson.toc:
        if entry.get("anchor") == question.section:
            return entry.get("title", question.lesson.title)
    return question.lesson.title


def quiz_summary(session, quiz_id: str) -> QuizSummary:
    quiz = _quiz(session, quiz_id)
    ids = quiz["questions"]
    questions = _questions_by_id(ids)
    steps = [
        _build_step(questions[qid], number, len(ids), quiz["results"].get(str(qid)), quiz_id, reveal=False)
        for number, qid in enumerate(ids, start=1)
        if qid in questions
    ]
    return QuizSummary(
        quiz_id, steps, _topics([s for s in steps if s.correct is not None]), next_open_step(quiz["results"], ids)
    )


# --------------------------------------------------------------------------------------------------------
# Flashcards
# --------------------------------------------------------------------------------------------------------


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
    lessons = _lessons_from_slugs(lesson_slugs) if lesson_slugs else None
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
    shown = _bucket(session).setdefault("shown_cards", [])
    if question.pk not in shown:
        shown.append(question.pk)
        del shown[:-SESSION_MAX_SHOWN_CARDS]
    deck.card = Flashcard(
        front=present_front(question, f"card-{question.pk}"),
        solution=present_solution(question),
        state=state,
        is_new=question.pk not in cards,
        previews=rating_previews(state, now),
        due_count=len(due),
        new_count=len(new),
    )
    return deck


def review_flashcard(store: PracticeStore, session, data: Mapping, now: datetime | None = None) -> CardState:
    """Reschedule the card the learner just rated, and count the review as an attempt (again = missed)."""
    now = now or timezone.now()
    values = _values(data, "question")
    try:
        question_id = _as_int(values[0], "The card") if len(values) == 1 else None
    except BadAnswer:
        question_id = None
    shown = _stored(session).get("shown_cards", [])
    if question_id is None or question_id not in shown:
        raise PracticeError("That card was not shown in this session. Reload the flashcards and try again.")
    question = Question.objects.filter(pk=question_id).first()
    if question is None:
        raise PracticeError("That card is no longer in the course.")
    ratings = _values(data, "rating")
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


# --------------------------------------------------------------------------------------------------------
# Mock interviews
# --------------------------------------------------------------------------------------------------------


def challenge_exercises() -> list[Exercise]:
    return [e for e in Exercise.objects.select_related("lesson") if "Dockerfile" in (e.starter_files or {})]


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
    """Start a timed interview: questions, one Dockerfile challenge, and a deadline fixed now, on the server."""
    rng = rng or random.Random()
    count = _parse_count(count, max(MOCK_QUESTION_COUNTS), MOCK_DEFAULT_QUESTIONS)
    minutes = _parse_count(minutes, max(MOCK_MINUTES), MOCK_DEFAULT_MINUTES)
    exercises = challenge_exercises()
    if exercise_slug:
        exercise = next((e for e in exercises if e.slug == exercise_slug), None)
        if exercise is None:
            raise PracticeError(f"There is no Dockerfile exercise called '{exercise_slug}'.")
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
        mocks = _bucket(session).setdefault("mocks", [])
        mocks.append(str(mock.public_id))
        del mocks[:-SESSION_MAX_MOCKS]
    return mock


def can_use_mock(mock: MockInterview, user, session) -> bool:
    if mock.user_id is not None:
        return user.is_authenticated and user.pk == mock.user_id
    return str(mock.public_id) in _stored(session).get("mocks", [])


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
    question = _questions_by_id([ids[number - 1]]).get(ids[number - 1])
    if question is None:
        raise PracticeError("This question was removed from the course.")
    # No feedback during an interview (as in a real one): the report comes at the end.
    return _build_step(question, number, len(ids), mock.answers.get(str(question.pk)), str(mock.public_id), False)


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
        _check_question_field(data, step.question.pk)
        result = _apply_answer(step.question, mock.answers, data, str(mock.public_id), now)
        mock.answers = {**mock.answers, str(step.question.pk): result}
        _finish_if_done(mock, now)
        mock.save(update_fields=["answers", "finished_at"])
        if result["correct"] is not None:
            store.record_attempt(step.question, result["correct"], PracticeAttempt.Mode.MOCK, now)
    return mock


def _finish_if_done(mock: MockInterview, now: datetime) -> None:
    # With nothing left to answer the interview is over: the clock stops and the report is ready.
    if mock.finished_at is None and mock_next_step(mock, now) == "report":
        mock.finished_at = now


def finish_mock(mock: MockInterview) -> MockInterview:
    if mock.finished_at is None:
        mock.finished_at = min(timezone.now(), mock.deadline)
        mock.save(update_fields=["finished_at"])
    return mock


# The Dockerfile challenge ---------------------------------------------------------------------------------


@dataclass
class ChallengeOutcome:
    """The Dockerfile challenge's result: a 0-100 score, or None while it is building or cannot be graded."""

    score: int | None
    status: str  # "not-attempted", "building", "graded", "ungraded"
    messages: list[str] = field(default_factory=list)
    note: str = ""
    submission_id: int | None = None


def challenge_files(exercise: Exercise, dockerfile: str) -> dict[str, str]:
    """The exercise's starter files with the learner's Dockerfile: the learner edits only the Dockerfile."""
    return {**(exercise.starter_files or {}), "Dockerfile": dockerfile}


def _check_dockerfile_text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadAnswer("Write a Dockerfile first.")
    if len(value.encode("utf-8")) > MAX_DOCKERFILE_BYTES:
        raise BadAnswer(f"The Dockerfile must be under {MAX_DOCKERFILE_BYTES // 1024} KiB.")
    return value


def _lint_line(finding: dict) -> str:
    rule = finding.get("rule") or finding.get("code") or ""
    where = f"line {finding['line']}: " if finding.get("line") else ""
    return f"{where}{rule}: {finding.get('message', '')}" if rule else f"{where}{finding.get('message', '')}"


def _static_verdicts(exercise: Exercise, text: str) -> list[tuple[str, bool, str, int]]:
    """The exercise's own static checks (Dockerfile text only, no Docker) as (title, passed, message, points).

    Checks that could not run (e.g. hadolint missing) are left out rather than counted against the learner.
    """
    from sandbox.grading.outcome import CheckError
    from sandbox.grading.spec import STATIC, phase_of
    from sandbox.grading.static import DockerfileSource, run_static_check

    checks = [c for c in (exercise.spec or {}).get("checks") or [] if isinstance(c, dict) and c.get("type")]
    static = [c for c in checks if _is_static(c, phase_of, STATIC)]
    rules = [rule for check in static if check["type"] == "lint" for rule in check.get("rules", [])]
    source = DockerfileSource(text, rules)
    verdicts = []
    for check in static:
        try:
            outcome = run_static_check(check, source)
        except CheckError:
            continue
        title = check.get("title") or check["type"]
        verdicts.append((title, outcome.passed, outcome.message, int(check.get("points", 1))))
    return verdicts


def _is_static(check: dict, phase_of, static: str) -> bool:
    try:
        return phase_of(check) == static
    except KeyError:
        return False


def static_check_dockerfile(text: str, exercise: Exercise | None = None) -> ChallengeOutcome:
    """Grade a Dockerfile without building it, for visitors who are not signed in.

    The score is the share of the exercise's static checks that pass (sandbox.grading's own checks);
    a Dockerfile the sandbox would refuse to build (syntax error, image outside the catalog) scores 0.
    Lint findings from `sandbox.grading.lint_dockerfile` are listed as advice. If the grader is not
    available, the challenge is left ungraded rather than guessed.
    """
    try:
        from sandbox.grading import lint_dockerfile
    except ImportError:
        return ChallengeOutcome(None, "ungraded", note=f"Static checks are not available here. {SIGN_UP_FOR_SANDBOX}")
    note = f"Static checks only: the Dockerfile was not built or run. {SIGN_UP_FOR_SANDBOX}"
    try:
        findings = [f for f in lint_dockerfile(text) or [] if isinstance(f, dict)]
        verdicts = _static_verdicts(exercise, text) if exercise is not None else []
    except Exception as error:  # noqa: BLE001 - a bug in the grader must not cost the learner their report
        return ChallengeOutcome(None, "ungraded", [f"The static checks could not run: {error}"], SIGN_UP_FOR_SANDBOX)
    refused = [f for f in findings if f.get("rule") in {"syntax", "sandbox"} and f.get("level") == "error"]
    advice = [_lint_line(f) for f in findings if f.get("level") in {"error", "warning"} and f not in refused]
    messages = [f"✗ {_lint_line(f)} (the sandbox would not build this)" for f in refused]
    messages += [f"{'✓' if passed else '✗'} {title}: {message}" for title, passed, message, _ in verdicts]
    messages += [f"Lint: {line}" for line in advice]
    if refused:
        return ChallengeOutcome(0, "graded", messages, note)
    if verdicts:
        total = sum(points for *_, points in verdicts)
        earned = sum(points for _, passed, _, points in verdicts if passed)
        score = round(100 * earned / total) if total else 100
    else:
        # No static checks in this exercise: judge by the lint errors and warnings alone.
        errors = sum(1 for f in findings if f.get("level") == "error")
        score = max(0, 100 - 25 * errors - 10 * (len(advice) - errors))
    return ChallengeOutcome(score, "graded", messages or ["No problems found by the static checks."], note)


def submit_challenge_static(mock: MockInterview, data: Mapping) -> MockInterview:
    """An anonymous visitor's Dockerfile: static checks now, kept on the interview."""
    text = _check_dockerfile_text((_values(data, "dockerfile") or [None])[0])
    if mock_is_over(mock):
        raise TimeUp.for_mock(mock, "a Dockerfile")
    outcome = static_check_dockerfile(text, mock.exercise)
    return _save_challenge(mock, {"score": outcome.score, "messages": outcome.messages, "note": outcome.note})


def _save_challenge(mock: MockInterview, result: dict, submission_id: int | None = None) -> MockInterview:
    with transaction.atomic():
        mock = MockInterview.objects.select_for_update().get(pk=mock.pk)
        now = timezone.now()
        if mock_is_over(mock, now):
            raise TimeUp.for_mock(mock, "a Dockerfile")
        if mock.exercise_id is None:
            raise PracticeError("This interview has no Dockerfile challenge.")
        if mock.submission_id is not None or mock.challenge_result:
            raise PracticeError("The Dockerfile for this interview has already been handed in.")
        mock.challenge_result = {**result, "at": _iso(now)}
        mock.submission_id = submission_id
        _finish_if_done(mock, now)
        mock.save(update_fields=["challenge_result", "submission_id", "finished_at"])
    return mock


def attach_submission(mock: MockInterview, user, data: Mapping) -> MockInterview:
    """A signed-in learner's Dockerfile went through the sandbox API; link that submission to the interview."""
    from sandbox.models import Submission

    values = _values(data, "submission_id")
    try:
        submission_id = _as_int(values[0], "The submission id") if len(values) == 1 else None
    except BadAnswer:
        submission_id = None
    if submission_id is None or submission_id <= 0:
        raise PracticeError("The submission id must be a whole number.")
    submission = Submission.objects.filter(pk=submission_id, user=user).first()
    # Someone else's build, another exercise's, or one made before the interview began is not this answer.
    if submission is None or submission.exercise_id != mock.exercise_id or submission.created_at < mock.started_at:
        raise PracticeError("That submission is not your Dockerfile for this interview's challenge.")
    if submission.created_at > mock.deadline:
        raise TimeUp.for_mock(mock, "a Dockerfile")
    return _save_challenge(mock, {"via": "api"}, submission_id=submission.pk)


def submit_challenge_to_sandbox(mock: MockInterview, user, data: Mapping) -> MockInterview:
    """Without JavaScript, a signed-in learner's Dockerfile is submitted to the sandbox from the server.

    It goes through `sandbox.submissions.submit`, the function behind `POST /api/submissions/`, so the same
    validation and rate limits apply.
    """
    text = _check_dockerfile_text((_values(data, "dockerfile") or [None])[0])
    if mock_is_over(mock):
        raise TimeUp.for_mock(mock, "a Dockerfile")
    try:
        from sandbox.files import SubmissionRejected
        from sandbox.submissions import RateLimited, submit
    except ImportError:
        # The sandbox is not installed here: fall back to what every visitor gets.
        return submit_challenge_static(mock, data)
    try:
        submission = submit(user, mock.exercise, challenge_files(mock.exercise, text))
    except SubmissionRejected as error:
        raise BadAnswer(error.message) from None
    except RateLimited as error:
        raise BadAnswer(error.message) from None
    return _save_challenge(mock, {"via": "form"}, submission_id=submission.pk)


def challenge_outcome(mock: MockInterview) -> ChallengeOutcome:
    if mock.exercise_id is None:
        return ChallengeOutcome(None, "none")
    if mock.submission_id is not None:
        from sandbox.models import Submission

        submission = Submission.objects.filter(pk=mock.submission_id).first()
        if submission is None:
            return ChallengeOutcome(None, "ungraded", note="The sandbox submission is gone.")
        if not submission.is_finished:
            return ChallengeOutcome(
                None,
                "building",
                submission_id=submission.pk,
                note="Your Dockerfile is being built and checked in the sandbox.",
            )
        messages = [submission.message] if submission.message else []
        return ChallengeOutcome(submission.score or 0, "graded", messages, submission_id=submission.pk)
    if mock.challenge_result:
        result = mock.challenge_result
        status = "graded" if result.get("score") is not None else "ungraded"
        return ChallengeOutcome(result.get("score"), status, list(result.get("messages", [])), result.get("note", ""))
    return ChallengeOutcome(0, "not-attempted", note="No Dockerfile was handed in before the end.")


@dataclass
class MockReport:
    mock: MockInterview
    steps: list[Step]
    topics: list[TopicScore]
    challenge: ChallengeOutcome

    @property
    def right(self) -> int:
        return sum(1 for step in self.steps if step.correct)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def overall(self) -> int:
        """Questions and the challenge together; a challenge still building (or ungraded) is left out."""
        weight = CHALLENGE_WEIGHT if self.challenge.score is not None else 0
        challenge = weight * (self.challenge.score or 0) / 100
        total = self.total + weight
        return round(100 * (self.right + challenge) / total) if total else 0

    @property
    def strengths(self) -> list[TopicScore]:
        return [topic for topic in self.topics if topic.strong]

    @property
    def weak_topics(self) -> list[TopicScore]:
        return [topic for topic in self.topics if not topic.strong]


def mock_report(mock: MockInterview) -> MockReport:
    """Score every question (unanswered ones count as missed) and the challenge, then group by lesson."""
    ids = mock.questions
    questions = _questions_by_id(ids)
    steps = []
    for number, question_id in enumerate(ids, start=1):
        if question_id in questions:
            result = mock.answers.get(str(question_id)) or {"correct": False, "answer": None}
            if result.get("correct") is None:
                result = {**result, "correct": False}
            steps.append(_build_step(questions[question_id], number, len(ids), result, str(mock.public_id), True))
    topics = _topics(steps)
    challenge = challenge_outcome(mock)
    if mock.exercise is not None and challenge.score is not None:
        lesson = mock.exercise.lesson
        topic = next((t for t in topics if t.lesson.pk == lesson.pk), None)
        if topic is None:
            topic = TopicScore(lesson)
            topics = sorted([*topics, topic], key=lambda t: t.lesson.order)
        topic.total += 1
        topic.right += challenge.score / 100
        if challenge.score < 100:
            topic.review_links.append((_exercise_url(mock.exercise), f"Exercise: {mock.exercise.title}"))
    return MockReport(mock, steps, topics, challenge)


def _exercise_url(exercise: Exercise) -> str:
    from django.urls import NoReverseMatch

    try:
        return exercise.get_absolute_url()
    except NoReverseMatch:
        return exercise.lesson.get_absolute_url()


# --------------------------------------------------------------------------------------------------------
# Stats: accuracy per topic over time, streak, cards due
# --------------------------------------------------------------------------------------------------------


@dataclass
class WeekCell:
    label: str
    right: int = 0
    total: int = 0

    @property
    def percent(self) -> int | None:
        return round(100 * self.right / self.total) if self.total else None


@dataclass
class TopicStats:
    lesson: Lesson
    right: int = 0
    total: int = 0
    weeks: list[WeekCell] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(100 * self.right / self.total) if self.total else 0


@dataclass
class PracticeStats:
    streak: int
    practised_today: bool
    cards_due: int
    cards_total: int
    answered: int
    right: int
    topics: list[TopicStats]
    week_labels: list[str]

    @property
    def percent(self) -> int:
        return round(100 * self.right / self.answered) if self.answered else 0

    @property
    def weakest(self) -> list[Lesson]:
        ranked = sorted((t for t in self.topics if t.total), key=lambda t: (t.percent, t.lesson.order))
        return [t.lesson for t in ranked if t.percent < 100 * STRONG_TOPIC][:3]


def practice_streak(days: set[date], today: date) -> int:
    """Consecutive days practised, ending today, or yesterday if today has no practice yet (still alive)."""
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def _week_labels() -> list[str]:
    labels = ["this week", "last week"] + [f"{n} weeks ago" for n in range(2, STATS_WEEKS)]
    return list(reversed(labels[:STATS_WEEKS]))


def practice_stats(store: PracticeStore, now: datetime | None = None) -> PracticeStats:
    now = now or timezone.now()
    attempts = store.attempts()
    cards = store.cards()
    labels = _week_labels()
    lessons = Lesson.objects.in_bulk({row.lesson_id for row in attempts})
    topics: dict[int, TopicStats] = {}
    for row in attempts:
        if row.lesson_id not in lessons:
            continue
        topic = topics.setdefault(
            row.lesson_id, TopicStats(lessons[row.lesson_id], weeks=[WeekCell(x) for x in labels])
        )
        topic.total += 1
        topic.right += row.correct
        # Weeks are the last 7-day windows ending now, oldest first, so the row reads left to right in time.
        weeks_ago = int((now - row.at).total_seconds() // (7 * 86400))
        if 0 <= weeks_ago < STATS_WEEKS:
            cell = topic.weeks[STATS_WEEKS - 1 - weeks_ago]
            cell.total += 1
            cell.right += row.correct
    today = timezone.localdate(now)
    days = {timezone.localdate(row.at) for row in attempts}
    return PracticeStats(
        streak=practice_streak(days, today),
        practised_today=today in days,
        cards_due=sum(1 for state in cards.values() if state.due <= now),
        cards_total=len(cards),
        answered=len(attempts),
        right=sum(row.correct for row in attempts),
        topics=sorted(topics.values(), key=lambda topic: topic.lesson.order),
        week_labels=labels,
    )


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
        MockInterview.objects.filter(public_id__in=_valid_uuids(data.get("mocks", [])), user=None).update(user=user)
    for key in ("attempts", "cards"):
        data.pop(key, None)
    session.modified = True


def _reviewed(item: Card | CardState) -> datetime:
    return item.last_reviewed_at or datetime.min.replace(tzinfo=UTC)


def _valid_uuids(values: Iterable) -> list[uuid.UUID]:
    valid = []
    for value in values:
        try:
            valid.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return valid


# --------------------------------------------------------------------------------------------------------
# The practice home page
# --------------------------------------------------------------------------------------------------------


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
    from django.db.models import Count

    wanted = set(preselected)
    # Aggregating drops Meta.ordering, so the course order is asked for again.
    lessons = Lesson.objects.annotate(question_count=Count("questions")).filter(question_count__gt=0).order_by("order")
    stats = practice_stats(store)
    question_ids = set(Question.objects.values_list("pk", flat=True))
    if user.is_authenticated:
        mocks = MockInterview.objects.filter(user=user)
    else:
        mocks = MockInterview.objects.filter(public_id__in=_valid_uuids(_stored(session).get("mocks", [])))
    return Overview(
        lessons=[LessonChoice(lesson, lesson.question_count, lesson.slug in wanted) for lesson in lessons],
        stats=stats,
        cards_new=len(question_ids - set(store.cards())),
        exercises=challenge_exercises(),
        recent_mocks=list(mocks.order_by("-started_at")[:5]),
    )
