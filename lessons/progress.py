"""A learner's progress through the course, gathered for the course map and the profile."""

from __future__ import annotations

from dataclasses import dataclass

from .models import Exercise, ExerciseProgress, Lesson, LessonProgress


@dataclass
class LessonRow:
    lesson: Lesson
    done: bool
    exercises: list[tuple[Exercise, ExerciseProgress | None]]


@dataclass
class CourseProgress:
    rows: list[LessonRow]

    @property
    def lessons_done(self) -> int:
        return sum(row.done for row in self.rows)

    @property
    def lessons_total(self) -> int:
        return len(self.rows)

    @property
    def exercises_total(self) -> int:
        return sum(len(row.exercises) for row in self.rows)

    @property
    def exercises_passed(self) -> int:
        return sum(1 for row in self.rows for _, p in row.exercises if p and p.passed_at)

    @property
    def percent(self) -> int:
        total = self.lessons_total + self.exercises_total
        return round(100 * (self.lessons_done + self.exercises_passed) / total) if total else 0

    def next_lesson(self) -> Lesson | None:
        return next((row.lesson for row in self.rows if not row.done), None)


def course_progress(user) -> CourseProgress:
    lessons = list(Lesson.objects.prefetch_related("exercises"))
    done: set[int] = set()
    attempts: dict[int, ExerciseProgress] = {}
    if user.is_authenticated:
        done = set(LessonProgress.objects.filter(user=user).values_list("lesson_id", flat=True))
        attempts = {p.exercise_id: p for p in ExerciseProgress.objects.filter(user=user)}
    rows = [
        LessonRow(lesson, lesson.id in done, [(e, attempts.get(e.id)) for e in lesson.exercises.all()])
        for lesson in lessons
    ]
    return CourseProgress(rows)
