"""A question's answer: presenting the question, grading what the learner sends, showing the right answer.

Nothing shown before the answer gives it away. The options of a choice or multi question and the items of an
order question reach the browser as opaque tokens, in an order made from those tokens, which only the server
can map back to the options and items. The tokens are keyed with the server's secret and a salt that belongs
to one learner's practice (the quiz id, the interview id, or the session's flashcard salt), so the order
differs from learner to learner, stays the same when the page is reloaded, and an answer is graded by the
option it names, never by where it was shown.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

from lessons.markdown import render_markdown
from lessons.models import Question

from .learner_input import BadAnswer, PracticeError, as_int, form_values

MAX_TEXT_ANSWER = 5000


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


def _token(text: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()[:16]


def order_tokens(question: Question, salt: str) -> list[str]:
    """Opaque, stable tokens for an order question's items, listed in the correct order.

    The browser only ever sees tokens, in a shuffled order, so the page does not give the answer away.
    They are keyed with the server's secret and a salt (the quiz or interview id), so they differ
    between quizzes and cannot be computed by the learner.
    """
    items = question.data.get("items") or []
    return [_token(f"{salt}|{question.key}|{index}|{item}") for index, item in enumerate(items)]


def option_tokens(question: Question, salt: str) -> list[str]:
    """Opaque, stable tokens for a choice or multi question's options, listed in the written order.

    Like order tokens, but in their own namespace: an option's token never equals an order item's.
    """
    options = question.data.get("options") or []
    return [_token(f"option|{salt}|{question.key}|{index}|{option}") for index, option in enumerate(options)]


def shown_option_order(question: Question, salt: str) -> list[int]:
    """Option indexes in the order they are shown: sorted by token, a uniformly random-looking permutation.

    Unlike order items, the written order may come up: it gives nothing away, since the bank's right
    answers sit at every position, and ruling it out would make the shown positions predictable again.
    """
    tokens = option_tokens(question, salt)
    return sorted(range(len(tokens)), key=tokens.__getitem__)


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
    # (token, html) in the shown order; the token is what the form sends back.
    options: list[tuple[str, SafeString]] = field(default_factory=list)
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
        options = data.get("options") or []
        tokens = option_tokens(question, salt)
        front.options = [(tokens[index], inline_html(options[index])) for index in shown_option_order(question, salt)]
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


def present_solution(question: Question, salt: str | None = None) -> Solution:
    """The solution; with the salt the question was shown with, options keep the order the learner saw."""
    data = question.data
    solution = Solution(
        question=question, explanation_html=markdown_html(question.explanation), section_url=question.section_url()
    )
    if question.kind in (Question.Kind.CHOICE, Question.Kind.MULTI):
        right = set(_right_options(question))
        options = data.get("options") or []
        order = shown_option_order(question, salt) if salt is not None else range(len(options))
        solution.options = [(index, inline_html(options[index]), index in right) for index in order]
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


def _option_index(value: object, tokens: list[str]) -> int:
    """The written index of the option a token names; anything else (a position, a made-up token) is refused."""
    if not isinstance(value, str) or value not in tokens:
        raise BadAnswer("This question has no such option. Reload the page and choose among the options shown.")
    return tokens.index(value)


def grade_choice(question: Question, data: Mapping, salt: str) -> Graded:
    values = form_values(data, "answer")
    if not values:
        raise BadAnswer("Choose one of the options.")
    if len(values) > 1:
        raise BadAnswer("Choose exactly one option.")
    index = _option_index(values[0], option_tokens(question, salt))
    right = question.data.get("answer")
    return Graded(correct=index == right, answer=index, credit=float(index == right))


def grade_multi(question: Question, data: Mapping, salt: str) -> Graded:
    tokens = option_tokens(question, salt)
    chosen = [_option_index(value, tokens) for value in form_values(data, "answer")]
    if len(set(chosen)) != len(chosen):
        raise BadAnswer("Each option can be chosen only once.")
    right = set(_right_options(question))
    picked = set(chosen)
    # Partial credit is shown, never counted: the verdict needs the exact set, as an interviewer would.
    credit = max(0.0, (len(picked & right) - len(picked - right)) / len(right)) if right else float(not picked)
    return Graded(correct=picked == right, answer=sorted(picked), credit=credit)


def grade_spot_bug(question: Question, data: Mapping) -> Graded:
    values = form_values(data, "answer")
    if len(values) != 1:
        raise BadAnswer("Choose the one line with the bug.")
    line = as_int(values[0], "The line")
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
        values = form_values(data, sent[token])
        if len(values) != 1:
            raise BadAnswer("Give each item one position.")
        position = as_int(values[0], "A position")
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
    values = form_values(data, "answer")
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
    values = form_values(data, "verdict")
    if values not in (["got"], ["missed"]):
        raise BadAnswer("Say whether you got it or missed it.")
    return values == ["got"]


def grade_answer(question: Question, data: Mapping, salt: str) -> Graded:
    """Grade one submitted answer. Raises BadAnswer, and records nothing, if it cannot be graded."""
    if form_values(data, "skip") == ["1"]:
        return Graded(correct=False, answer=None)
    graders = {
        Question.Kind.SPOT_BUG: grade_spot_bug,
        Question.Kind.TEXT: grade_text,
    }
    salted = {
        Question.Kind.CHOICE: grade_choice,
        Question.Kind.MULTI: grade_multi,
        Question.Kind.ORDER: grade_order,
    }
    if question.kind in salted:
        return salted[question.kind](question, data, salt)
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
