"""What a learner sends, read defensively: the errors that refuse it and the helpers that parse it.

Anything a learner sends is treated as hostile: an answer that names an unknown option, a question that
was not asked, or a value of the wrong type raises `PracticeError`, which views turn into HTTP 400 with the
error's message. Nothing is recorded for a refused answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lessons.models import Lesson


class PracticeError(Exception):
    """Input that cannot be accepted (tampered, stale or malformed). The message is shown to the learner."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadAnswer(PracticeError):
    """An answer to a question that was rightly asked, but in a form that cannot be graded."""


def form_values(data: Mapping, name: str) -> list:
    """All values of a form field, from a QueryDict or a plain mapping (as tests and JSON send them)."""
    if hasattr(data, "getlist"):
        return data.getlist(name)
    value = data.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def as_int(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise BadAnswer(f"{what} must be a whole number.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
        return int(value.strip())
    raise BadAnswer(f"{what} must be a whole number.")


def lessons_from_slugs(slugs: list[str]) -> list[Lesson]:
    if not all(isinstance(slug, str) for slug in slugs):
        raise PracticeError("Lessons are named by their slugs.")
    lessons = list(Lesson.objects.filter(slug__in=set(slugs)))
    unknown = sorted(set(slugs) - {lesson.slug for lesson in lessons})
    if unknown:
        raise PracticeError(f"There is no lesson called '{unknown[0]}'.")
    return lessons


def parse_count(value: object, allowed_max: int, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        count = as_int(value, "The number of questions")
    except BadAnswer as error:
        raise PracticeError(error.message) from None
    if not 1 <= count <= allowed_max:
        raise PracticeError(f"Choose between 1 and {allowed_max} questions.")
    return count
