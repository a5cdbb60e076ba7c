"""The authoring preview (staff only): lessons, questions and exercises as learners see them, the course
files' errors with file and line, a reload button, and grading an exercise's solution and starter now.

`manage.py author` reloads the course on every save; these pages read what it loaded, and refresh
themselves when it reloads (static/js/teach-author.js polls `author_status`).
"""

from __future__ import annotations

import hashlib
import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from lessons import authoring
from lessons.models import Exercise, Lesson, LessonProgress
from practice.answers import present_front, present_solution

from .access import staff_required


def author_context(request: HttpRequest) -> dict:
    """What the preview bar on every page shows: the problems on disk now, and the watcher's last reload."""
    watcher = authoring.active_watcher
    return {
        "problems": authoring.check_course(),
        "last_reload": watcher.last if watcher else None,
        "watching": watcher is not None,
        "status_version": status_version(),
    }


def status_version() -> str:
    """Changes whenever the preview should refresh: after each reload by the watcher, or, with no watcher
    in this process, whenever the files change."""
    watcher = authoring.active_watcher
    if watcher is not None and watcher.last is not None:
        return watcher.last.at.isoformat()
    files = json.dumps(sorted(authoring.snapshot(authoring.content_root()).items()))
    return hashlib.sha256(files.encode()).hexdigest()[:16]


@require_safe
@staff_required
def author_index(request: HttpRequest) -> HttpResponse:
    lessons = Lesson.objects.prefetch_related("exercises", "questions")
    return render(request, "teach/author/index.html", {**author_context(request), "lessons": lessons})


@require_safe
@staff_required
def author_status(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"version": status_version(), "problems": len(authoring.check_course())})


@require_POST
@staff_required
def author_reload(request: HttpRequest) -> HttpResponse:
    reloaded = authoring.reload_course()
    if reloaded.ok:
        summary = reloaded.summary
        messages.success(
            request,
            f"Reloaded {summary.lessons} lessons, {summary.exercises} exercises and {summary.questions} questions.",
        )
    else:
        messages.error(
            request, f"Not reloaded: the course files have {len(reloaded.problems)} problem(s), listed below."
        )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    return redirect(back or "teach_author")


@require_safe
@staff_required
def author_lesson(request: HttpRequest, slug: str) -> HttpResponse:
    """The lesson page exactly as a learner sees it (the same template), with the preview bar."""
    lesson = get_object_or_404(Lesson, slug=slug)
    context = {
        **author_context(request),
        "lesson": lesson,
        "done": LessonProgress.objects.filter(user=request.user, lesson=lesson).exists(),
        "previous": Lesson.objects.filter(order__lt=lesson.order).order_by("-order").first(),
        "next": Lesson.objects.filter(order__gt=lesson.order).order_by("order").first(),
        "exercises": lesson.exercises.all(),
        "preview_lesson": lesson,
    }
    return render(request, "teach/author/lesson.html", context)


@require_safe
@staff_required
def author_questions(request: HttpRequest, slug: str) -> HttpResponse:
    """Every question of a lesson as practice asks it, then with its answer and explanation."""
    lesson = get_object_or_404(Lesson, slug=slug)
    questions = [
        (present_front(question, salt="preview"), present_solution(question))
        for question in lesson.questions.select_related("lesson")
    ]
    context = {**author_context(request), "preview_lesson": lesson, "questions": questions}
    return render(request, "teach/author/questions.html", context)


def exercise_context(request: HttpRequest, slug: str) -> dict:
    exercise = get_object_or_404(Exercise.objects.select_related("lesson"), slug=slug)
    checks = [check for check in (exercise.spec or {}).get("checks") or [] if isinstance(check, dict)]
    common = {"id", "type", "title", "hint", "section", "points"}
    return {
        **author_context(request),
        "exercise": exercise,
        "preview_lesson": exercise.lesson,
        "checks": [
            {
                **check,
                "settings": {k: v for k, v in check.items() if k not in common},
                "section_url": section(exercise, check),
            }
            for check in checks
        ],
        "starter": sorted((exercise.starter_files or {}).items(), key=lambda f: (f[0] != "Dockerfile", f[0])),
        "solution": sorted((exercise.solution_files or {}).items(), key=lambda f: (f[0] != "Dockerfile", f[0])),
    }


def section(exercise: Exercise, check: dict) -> str:
    anchor = check.get("section")
    return exercise.lesson.section_url(anchor) if isinstance(anchor, str) and anchor else ""


@require_safe
@staff_required
def author_exercise(request: HttpRequest, slug: str) -> HttpResponse:
    return render(request, "teach/author/exercise.html", exercise_context(request, slug))


@require_POST
@staff_required
def author_grade(request: HttpRequest, slug: str) -> HttpResponse:
    """Grade the exercise's solution and starter, as they are on disk, in a sandbox daemon, and show both."""
    context = exercise_context(request, slug)
    context["validation"] = authoring.validate_exercise(slug)
    return render(request, "teach/author/exercise.html", context)
