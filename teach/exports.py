"""The dashboard's tables as CSV: the progress grid, and the exercise, check and question tables."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import HttpResponse

from .analytics import TOP_MESSAGES, CheckRow, ExerciseRow, QuestionRow
from .grid import Grid

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_response(filename: str, rows: Iterable[list]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return response


def cell(value: object) -> object:
    """A value as a CSV cell. Text that a spreadsheet would run as a formula (a username such as "+1-2", a
    failure message that quotes a learner's output) is prefixed with a quote; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not is_number(value):
        return "'" + value
    return value


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def percent(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.1f}"


def number(value: float | None, places: int = 1) -> str:
    return "" if value is None else f"{value:.{places}f}"


def grid_rows(grid: Grid) -> Iterable[list]:
    header = ["learner", f"lessons read (of {len(grid.lessons)})", "exercises passed"]
    for exercise in grid.exercises:
        header += [f"{exercise.slug} passed", f"{exercise.slug} attempts", f"{exercise.slug} last score"]
    yield header
    for row in grid.rows:
        line = [row.learner.get_username(), row.lessons_read, row.passed]
        for cell in row.cells:
            pair = cell.pair
            if pair is None:
                line += ["", 0, ""]
            else:
                line += ["late" if cell.late else "yes" if pair.passed else "no", pair.attempts, pair.last_score]
        yield line


def exercise_rows(table: list[ExerciseRow]) -> Iterable[list]:
    yield [
        "exercise", "lesson", "learners", "tried", "passed", "passed %", "passed on the first attempt",
        "first attempt %", "attempts", "median attempts to pass", "median minutes to pass",
    ]  # fmt: skip
    for row in table:
        minutes = row.median_seconds_to_pass / 60 if row.median_seconds_to_pass is not None else None
        yield [
            row.exercise.slug, row.exercise.lesson.slug, row.learners, row.tried, row.passed,
            percent(row.passed_share), row.first_try, percent(row.first_try_share), row.attempts,
            number(row.median_attempts_to_pass), number(minutes),
        ]  # fmt: skip


def check_rows(table: list[CheckRow]) -> Iterable[list]:
    header = [
        "exercise", "check", "title", "type", "verdicts", "failed", "failed %", "skipped", "errors",
        "learners", "learners who failed it", "still in the exercise",
    ]  # fmt: skip
    for index in range(1, TOP_MESSAGES + 1):
        header += [f"message {index}", f"message {index} count"]
    yield header
    for row in table:
        line = [
            row.exercise.slug, row.check_id, row.title, row.check_type, row.verdicts, row.failed,
            percent(row.failed_share), row.skipped, row.errors, row.learners, row.learners_failed,
            "yes" if row.in_spec else "no",
        ]  # fmt: skip
        for message in row.messages:
            line += [message.example, message.count]
        yield line


def question_rows(table: list[QuestionRow]) -> Iterable[list]:
    yield [
        "question", "lesson", "type", "learners", "attempts", "right on the first try", "right on the first try %",
        "discrimination", "flags",
    ]  # fmt: skip
    for row in table:
        question = row.question
        yield [
            question.key, question.lesson.slug, question.kind, row.learners, row.attempts, row.right_first,
            percent(row.right_first_share), number(row.discrimination, 3), "; ".join(row.flags),
        ]  # fmt: skip
