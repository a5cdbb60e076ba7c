"""The exercise workspace: the page, live lint while typing, and the learner's submission history.

Views parse the request, check permissions and call one function. Reading an exercise works anonymously;
building needs an account (the submissions API refuses anonymous posts). Everything JSON answers errors as
{"error": "message in words"} so the page can show the message as it is.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST, require_safe

from lessons.models import Exercise, ExerciseProgress

from .models import Submission

logger = logging.getLogger(__name__)

DOCKERFILE = "Dockerfile"
HISTORY_LIMIT = 30
# JSON escaping can grow a text a few times (\u-escapes); anything far beyond the file limit is refused
# before it is read or parsed.
LINT_BODY_LIMIT_FACTOR = 6
LINT_UNAVAILABLE = (
    "Live lint is not available on this server right now. Your Dockerfile is still checked when you submit it."
)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


# --- The page ---------------------------------------------------------------------------------------------


@require_safe
def exercise_page(request: HttpRequest, slug: str) -> HttpResponse:
    exercise = get_object_or_404(Exercise.objects.select_related("lesson"), slug=slug)
    return render(request, "exercises/workspace.html", workspace_context(exercise, request.user))


def workspace_context(exercise: Exercise, user) -> dict:
    """Everything the workspace template and its script need, for one exercise and one visitor."""
    files = ordered_files(exercise.starter_files)
    following = next_exercise(exercise)
    progress = None
    if user.is_authenticated:
        progress = ExerciseProgress.objects.filter(user=user, exercise=exercise).first()
    config = {
        "exercise": exercise.slug,
        "loggedIn": user.is_authenticated,
        "starter": {file["name"]: file["content"] for file in files},
        # Drafts are kept per learner, so two people sharing a browser do not see each other's work.
        "draftKey": f"dockyard:draft:{exercise.slug}:{user.pk if user.is_authenticated else 'anon'}",
        "anonDraftKey": f"dockyard:draft:{exercise.slug}:anon",
        "urls": {
            "lint": reverse("workspace_lint"),
            "history": reverse("workspace_history", args=[exercise.slug]),
            "submissions": reverse("submission_create"),
            "next": following.get_absolute_url() if following else reverse("course"),
        },
        "nextTitle": following.title if following else "",
    }
    return {
        "exercise": exercise,
        "lesson": exercise.lesson,
        "files": files,
        "next_exercise": following,
        "progress": progress,
        "config": config,
    }


def ordered_files(starter_files: dict) -> list[dict]:
    """The exercise's files as editor tabs: the Dockerfile first, then the rest by name.

    An exercise may start from nothing; the learner still gets a Dockerfile tab to write in.
    """
    files = dict(starter_files or {})
    files.setdefault(DOCKERFILE, "")
    names = sorted(files, key=lambda name: (name != DOCKERFILE, name))
    return [{"name": name, "content": files[name]} for name in names]


def next_exercise(exercise: Exercise) -> Exercise | None:
    """The exercise after this one in course order (lesson order, then exercise order, then slug)."""
    lesson_order = exercise.lesson.order
    same_lesson = Q(lesson__order=lesson_order) & (
        Q(order__gt=exercise.order) | Q(order=exercise.order, slug__gt=exercise.slug)
    )
    later = Exercise.objects.filter(Q(lesson__order__gt=lesson_order) | same_lesson)
    return later.order_by("lesson__order", "order", "slug").first()


# --- Live lint --------------------------------------------------------------------------------------------


@require_POST
def lint(request: HttpRequest) -> JsonResponse:
    limit = settings.SUBMISSION_MAX_FILE_BYTES
    if _content_length(request) > limit * LINT_BODY_LIMIT_FACTOR + 1024:
        return _error(413, f"The Dockerfile is too large to check; a file may be at most {limit // 1024} KiB.")
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _error(400, "The request body must be a JSON object.")
    dockerfile = body.get("dockerfile") if isinstance(body, dict) else None
    if not isinstance(dockerfile, str):
        return _error(400, "Send the Dockerfile's text as 'dockerfile'.")
    if len(dockerfile.encode("utf-8", "surrogatepass")) > limit:
        return _error(413, f"The Dockerfile is too large to check; a file may be at most {limit // 1024} KiB.")
    problems = lint_text(dockerfile)
    if problems is None:
        return _error(503, LINT_UNAVAILABLE)
    return JsonResponse({"problems": problems})


def lint_text(dockerfile: str) -> list[dict] | None:
    """The linter's problems for a Dockerfile, or None when no linter can answer right now."""
    try:
        from .grading import lint_dockerfile
    except ImportError:
        # The grading package is optional for the page: without it the editor simply has no live lint.
        return None
    try:
        return list(lint_dockerfile(dockerfile))
    except Exception:  # noqa: BLE001 - a broken linter must not break typing; submit still grades
        logger.exception("Live lint failed")
        return None


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


# --- History ----------------------------------------------------------------------------------------------


@require_GET
def history(request: HttpRequest, slug: str) -> JsonResponse:
    if not request.user.is_authenticated:
        return _error(401, "Log in to see your submissions.")
    exercise = Exercise.objects.filter(slug=slug).first()
    if exercise is None:
        return _error(404, f"There is no exercise called '{slug}'.")
    return JsonResponse({"submissions": learner_history(request.user, exercise)})


def learner_history(user, exercise: Exercise, limit: int = HISTORY_LIMIT) -> list[dict]:
    """The learner's own submissions for one exercise, newest first, numbered as attempts from 1."""
    mine = Submission.objects.filter(user=user, exercise=exercise)
    total = mine.count()
    rows = mine.order_by("-created_at", "-pk")[:limit]
    return [
        {
            "id": row.pk,
            "attempt": total - index,
            "status": row.status,
            "finished": row.is_finished,
            "score": row.score,
            "message": row.message,
            "created_at": row.created_at.isoformat(),
            "finished_at": row.finished_at.isoformat() if row.finished_at else None,
            "files": row.files,
            "events": row.events_path(),
        }
        for index, row in enumerate(rows)
    ]
