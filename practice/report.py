"""The report at the end of a mock interview: every question and the Dockerfile challenge, scored by topic."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch

from lessons.models import Exercise

from .challenge import ChallengeOutcome, challenge_outcome
from .models import MockInterview
from .steps import Step, TopicScore, build_step, questions_by_id, topic_scores

# The Dockerfile challenge counts as this many questions in a mock interview's overall score.
CHALLENGE_WEIGHT = 2


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
    questions = questions_by_id(ids)
    steps = []
    for number, question_id in enumerate(ids, start=1):
        if question_id in questions:
            result = mock.answers.get(str(question_id)) or {"correct": False, "answer": None}
            if result.get("correct") is None:
                result = {**result, "correct": False}
            steps.append(build_step(questions[question_id], number, len(ids), result, str(mock.public_id), True))
    topics = topic_scores(steps)
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
    try:
        return exercise.get_absolute_url()
    except NoReverseMatch:
        return exercise.lesson.get_absolute_url()
