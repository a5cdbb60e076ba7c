"""One question at a time, shared by quizzes and mock interviews: steps, answers to them, scores by topic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from lessons.models import Lesson, Question

from .answers import (
    Graded,
    QuestionFront,
    Solution,
    describe_answer,
    grade_answer,
    present_front,
    present_solution,
    self_assess,
)
from .learner_input import BadAnswer, PracticeError, as_int, form_values

# A topic at or above this share of right answers is a strength; below it, something to review.
STRONG_TOPIC = 0.75


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


def build_step(question: Question, number: int, total: int, result: dict | None, salt: str, reveal: bool) -> Step:
    step = Step(number=number, total=total, front=present_front(question, salt), result=result)
    if result is None:
        return step
    if step.state == "assess":
        # The learner must see the model answer to judge their own.
        step.solution = present_solution(question, salt)
        step.key_points = [(point, bool(hit)) for point, hit in result.get("key_points", [])]
        step.suggestion = result.get("suggestion", "")
    elif reveal:
        step.solution = present_solution(question, salt)
    step.your_answer = describe_answer(question, result.get("answer"))
    return step


def _result_json(graded: Graded, at: datetime) -> dict:
    result = {
        "correct": graded.correct,
        "answer": graded.answer,
        "credit": round(graded.credit, 3),
        "at": at.isoformat(),
    }
    if graded.correct is None:
        result["key_points"] = [[point, hit] for point, hit in graded.key_points]
        result["suggestion"] = graded.suggestion
    return result


def apply_answer(question: Question, results: dict, data: Mapping, salt: str, at: datetime) -> dict:
    """Grade an answer to a question of a quiz or interview and return its new result (not yet recorded)."""
    current = results.get(str(question.pk))
    if current is not None and current.get("correct") is not None:
        raise PracticeError("This question has already been answered.")
    if current is not None:
        # The second step of a text question: only the learner's verdict is accepted now.
        return {**current, "correct": self_assess(data), "at": at.isoformat()}
    return _result_json(grade_answer(question, data, salt), at)


def questions_by_id(ids: list[int]) -> dict[int, Question]:
    return Question.objects.select_related("lesson").in_bulk(ids)


def check_question_field(data: Mapping, expected: int) -> None:
    """The form names its question; it must be the one asked at this step (not another quiz's, not made up)."""
    values = form_values(data, "question")
    if len(values) != 1:
        raise PracticeError("The answer does not say which question it answers.")
    try:
        sent = as_int(values[0], "The question id")
    except BadAnswer:
        raise PracticeError("The question id must be a whole number.") from None
    if sent != expected:
        raise PracticeError("That question was not asked at this step of your practice.")


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


def topic_scores(steps: list[Step]) -> list[TopicScore]:
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
