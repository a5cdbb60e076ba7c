"""Course-wide analytics for staff: the exercise, check and question tables over every learner."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from lessons.models import Exercise, Question
from practice.models import PracticeAttempt

from . import exports
from .access import staff_required
from .analytics import Scope, check_table, exercise_pairs, exercise_table, question_table
from .views import practice_mode


def course_scope() -> Scope:
    return Scope(exercises=list(Exercise.objects.select_related("lesson")), questions=Question.objects.all())


@require_safe
@staff_required
def course_analytics(request: HttpRequest) -> HttpResponse:
    scope = course_scope()
    mode = practice_mode(request)
    context = {
        "exercise_rows": exercise_table(scope, exercise_pairs(scope)),
        "check_rows": check_table(scope),
        "question_rows": question_table(scope, mode),
        "mode": mode,
        "modes": PracticeAttempt.Mode.choices,
    }
    return render(request, "teach/course.html", context)


@require_safe
@staff_required
def course_csv(request: HttpRequest, table: str) -> HttpResponse:
    scope = course_scope()
    name = f"course-{table}.csv"
    if table == "exercises":
        return exports.csv_response(name, exports.exercise_rows(exercise_table(scope, exercise_pairs(scope))))
    if table == "checks":
        return exports.csv_response(name, exports.check_rows(check_table(scope)))
    if table == "questions":
        return exports.csv_response(name, exports.question_rows(question_table(scope, practice_mode(request))))
    raise Http404("There is no such table.")
