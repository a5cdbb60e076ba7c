"""The exercise workspace: the page, live lint while typing, the learner's history, and the submissions API.

Views parse the request, check permissions and call one function. Reading an exercise works anonymously;
building needs an account (the submissions API refuses anonymous posts). Everything JSON answers errors as
{"error": "message in words"} (see workspace/api.py) so the page can show the message as it is.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST, require_safe

from lessons.models import Exercise, ExerciseProgress
from sandbox.files import SubmissionRejected
from sandbox.grading import lint_dockerfile
from sandbox.grading.lint import lint_lab
from sandbox.labs.plan import LAB_KINDS, MAIN_FILES, kind_of
from sandbox.models import Submission
from sandbox.submissions import RateLimited, submit

from .api import error, json_body, login_required_json

logger = logging.getLogger(__name__)

DOCKERFILE = "Dockerfile"
HISTORY_LIMIT = 30
# JSON escaping can grow a text a few times (\u-escapes); anything far beyond the file limit is refused
# before it is read or parsed.
LINT_BODY_LIMIT_FACTOR = 6
LINT_UNAVAILABLE = (
    "Live lint is not available on this server right now. Your Dockerfile is still checked when you submit it."
)


# --- The page ---------------------------------------------------------------------------------------------


@require_safe
def exercise_page(request: HttpRequest, slug: str) -> HttpResponse:
    exercise = get_object_or_404(Exercise.objects.select_related("lesson"), slug=slug)
    return render(request, "exercises/workspace.html", workspace_context(exercise, request.user))


def workspace_context(exercise: Exercise, user) -> dict:
    """Everything the workspace template and its script need, for one exercise and one visitor."""
    kind = kind_of(exercise)
    files = ordered_files(exercise.starter_files, MAIN_FILES[kind])
    following = next_exercise(exercise)
    progress = None
    if user.is_authenticated:
        progress = ExerciseProgress.objects.filter(user=user, exercise=exercise).first()
    config = {
        "exercise": exercise.slug,
        # What the learner writes: a Dockerfile, a lab's commands.sh or its compose.yaml (linted as they type).
        "kind": kind,
        "mainFile": MAIN_FILES[kind],
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
        "is_lab": kind in LAB_KINDS,
        "main_file": MAIN_FILES[kind],
        "lesson": exercise.lesson,
        "files": files,
        "next_exercise": following,
        "progress": progress,
        "config": config,
    }


def ordered_files(starter_files: dict, main: str = DOCKERFILE) -> list[dict]:
    """The exercise's files as editor tabs: the main file (Dockerfile, commands.sh, compose.yaml) first, then
    the rest by name.

    An exercise may start from nothing; the learner still gets a tab for the main file to write in.
    """
    files = dict(starter_files or {})
    files.setdefault(main, "")
    names = sorted(files, key=lambda name: (name != main, name))
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
        return error(413, f"The Dockerfile is too large to check; a file may be at most {limit // 1024} KiB.")
    body = json_body(request)
    if body is None:
        return error(400, "The request body must be a JSON object.")
    kind = body.get("kind", "dockerfile")
    if kind in LAB_KINDS:
        # A lab's commands.sh or compose.yaml, checked against its policy: refusals show while typing.
        text = body.get("text")
        if not isinstance(text, str):
            return error(400, f"Send the text of {MAIN_FILES[kind]} as 'text'.")
    elif kind == "dockerfile":
        text = body.get("dockerfile")
        if not isinstance(text, str):
            return error(400, "Send the Dockerfile's text as 'dockerfile'.")
    else:
        return error(400, f"'kind' must be one of dockerfile, {', '.join(LAB_KINDS)}.")
    if len(text.encode("utf-8", "surrogatepass")) > limit:
        return error(413, f"The file is too large to check; a file may be at most {limit // 1024} KiB.")
    problems = lint_text(text, kind)
    if problems is None:
        return error(503, LINT_UNAVAILABLE)
    return JsonResponse({"problems": problems})


def lint_text(text: str, kind: str = "dockerfile") -> list[dict] | None:
    """The linter's problems for a Dockerfile (or a lab's file), or None when no linter can answer right now."""
    try:
        return list(lint_lab(kind, text) if kind in LAB_KINDS else lint_dockerfile(text))
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
@login_required_json("Log in to see your submissions.")
def history(request: HttpRequest, slug: str) -> JsonResponse:
    exercise = Exercise.objects.filter(slug=slug).first()
    if exercise is None:
        return error(404, f"There is no exercise called '{slug}'.")
    return JsonResponse({"submissions": learner_history(request.user, exercise)})


def learner_history(user, exercise: Exercise, limit: int = HISTORY_LIMIT) -> list[dict]:
    """The learner's own submissions for one exercise, newest first, numbered as attempts from 1."""
    mine = Submission.objects.filter(user=user, exercise=exercise).select_related("exercise")
    total = mine.count()
    rows = mine.order_by("-created_at", "-pk")[:limit]
    return [{**row.to_dict(), "attempt": total - index} for index, row in enumerate(rows)]


# --- Submissions ------------------------------------------------------------------------------------------


@require_POST
@login_required_json("Log in to build Dockerfiles.")
def create_submission(request: HttpRequest) -> JsonResponse:
    body = json_body(request)
    if body is None:
        return error(400, "The request body must be a JSON object.")
    exercise = None
    slug = body.get("exercise")
    if slug is not None:
        if not isinstance(slug, str):
            return error(400, "'exercise' must be an exercise slug or null.")
        exercise = Exercise.objects.filter(slug=slug).first()
        if exercise is None:
            return error(404, f"There is no exercise called '{slug}'.")
    try:
        submission = submit(request.user, exercise, body.get("files"))
    except SubmissionRejected as rejected:
        return error(400, rejected.message)
    except RateLimited as limited:
        return error(429, limited.message)
    submission.refresh_from_db(fields=["status", "message"])
    if submission.status == Submission.Status.ERROR:
        return error(503, submission.message)
    return JsonResponse(
        {"id": submission.pk, "status": submission.status, "events_url": submission.events_path()}, status=202
    )


@require_GET
def submission_detail(request: HttpRequest, pk: int) -> JsonResponse:
    submission = get_object_or_404(Submission.objects.select_related("exercise"), pk=pk)
    if not submission.can_be_seen_by(request.user):
        # The same answer as a missing submission, so ids of other learners' work reveal nothing.
        return error(404, "There is no such submission.")
    return JsonResponse(submission.to_dict(with_events=True))
