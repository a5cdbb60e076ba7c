"""A class's progress grid: its learners × its exercises, plus the lessons each has read. Sortable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count

from lessons.models import Exercise, Lesson, LessonProgress

from .analytics import Pair

SORT_KEYS = ("learner", "lessons", "passed")


@dataclass
class Cell:
    exercise: Exercise
    pair: Pair | None
    due_at: datetime | None
    # The learner's attempts page; "" for an exercise not tried.
    url: str = ""

    @property
    def label(self) -> str:
        """What the cell says: ✓ passed or ✗ not yet, attempts, and the last attempt's score."""
        pair = self.pair
        if pair is None:
            return "—"
        score = "—" if pair.last_score is None else f"{pair.last_score}%"
        return f"{'✓' if pair.passed else '✗'} {pair.attempts} · {score}"

    @property
    def state(self) -> str:
        if self.pair is None:
            return "untried"
        return "passed" if self.pair.passed else "tried"

    @property
    def late(self) -> bool:
        """Passed, but only after the class's due date."""
        pair = self.pair
        return bool(pair and pair.passed and self.due_at and pair.passed_at and pair.passed_at > self.due_at)

    def sort_key(self) -> tuple:
        # Passed first, then by the last score, then by fewer attempts; untried cells last.
        if self.pair is None:
            return (-1, -1, 0)
        return (int(self.pair.passed), self.pair.last_score or 0, -self.pair.attempts)


@dataclass
class Row:
    learner: object
    lessons_read: int
    cells: list[Cell]

    @property
    def name(self) -> str:
        return self.learner.get_username()

    @property
    def passed(self) -> int:
        return sum(1 for cell in self.cells if cell.pair and cell.pair.passed)


@dataclass
class Column:
    key: str
    label: str
    sort: str
    descending: bool

    @property
    def aria_sort(self) -> str:
        if self.key != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"

    @property
    def href(self) -> str:
        """Sorts by this column; a second click on the sorted column reverses it."""
        reverse = self.key == self.sort and not self.descending
        return f"?sort={self.key}&order={'desc' if reverse else 'asc'}#progress"


@dataclass
class Grid:
    exercises: list[Exercise]
    lessons: list[Lesson]
    rows: list[Row]
    sort: str
    descending: bool

    def column(self, key: str, label: str) -> Column:
        return Column(key, label, self.sort, self.descending)

    @property
    def columns(self) -> list[Column]:
        return [
            self.column("learner", "Learner"),
            self.column("lessons", f"Lessons read (of {len(self.lessons)})"),
            self.column("passed", f"Exercises passed (of {len(self.exercises)})"),
        ]

    @property
    def exercise_columns(self) -> list[tuple[Exercise, Column]]:
        return [(exercise, self.column(exercise.slug, exercise.title)) for exercise in self.exercises]


def progress_grid(
    learner_ids,
    exercises: list[Exercise],
    lessons: list[Lesson],
    pairs: list[Pair],
    due_at: datetime | None = None,
    sort: str = "learner",
    descending: bool = False,
    link_prefix: str = "",
) -> Grid:
    """The grid for the learners (a subquery of user ids), from the per-learner pairs of `exercise_pairs`.

    With `link_prefix` (the class's learners URL), each tried cell links to `<prefix><user id>/<exercise slug>/`.
    """
    learners = list(get_user_model().objects.filter(pk__in=learner_ids).order_by("username"))
    read = dict(
        LessonProgress.objects.filter(user__in=learner_ids, lesson__in=[lesson.pk for lesson in lessons])
        .values("user")
        .annotate(count=Count("pk"))
        .order_by()
        .values_list("user", "count")
    )
    by_cell = {(pair.user_id, pair.exercise_id): pair for pair in pairs}
    rows = [
        Row(
            learner=learner,
            lessons_read=read.get(learner.pk, 0),
            cells=[
                cell(learner.pk, exercise, by_cell.get((learner.pk, exercise.pk)), due_at, link_prefix)
                for exercise in exercises
            ],
        )
        for learner in learners
    ]
    slugs = [exercise.slug for exercise in exercises]
    if sort not in SORT_KEYS and sort not in slugs:
        sort = "learner"
    # Two stable sorts: ties keep the learners in name order, whichever way the column is sorted.
    rows.sort(key=lambda row: row.learner.get_username().lower())
    if sort == "learner":
        rows.sort(key=lambda row: row.learner.get_username().lower(), reverse=descending)
    else:
        rows.sort(key=lambda row: row_key(row, sort, slugs), reverse=descending)
    return Grid(exercises, lessons, rows, sort, descending)


def cell(user_id: int, exercise: Exercise, pair: Pair | None, due_at: datetime | None, link_prefix: str) -> Cell:
    url = f"{link_prefix}{user_id}/{exercise.slug}/" if pair is not None and link_prefix else ""
    return Cell(exercise, pair, due_at, url)


def row_key(row: Row, sort: str, slugs: list[str]) -> tuple:
    if sort == "lessons":
        return (row.lessons_read,)
    if sort == "passed":
        return (row.passed,)
    return row.cells[slugs.index(sort)].sort_key()
