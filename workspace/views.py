"""The exercise workspace: the page, live lint while typing, the learner's history, and the submissions API.

Views parse the request, check permissions and call one function. Reading an exercise works anonymously;
building needs an account (the submissions API refuses anonymous posts). Everything JSON answers errors as
{"error": "message in words"} (see workspace/api.py) so the page can show the message as it is.
"""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST, require_safe

from lessons.models import Exercise, ExerciseProgress
from sandbox.files import SubmissionRejected
from sandbox.grading import build_secret_ids
from sandbox.grading.lint import lint_lab
from sandbox.labs.plan import LAB_KINDS, MAIN_FILES, kind_of
from sandbox.models import Submission
from sandbox.submissions import RateLimited, submit

from .api import error, json_body, login_required_json
from .lint import LintBusy, LintTimedOut, lint_in_time_box, seconds_until_allowed

logger = logging.getLogger(__name__)

DOCKERFILE = "Dockerfile"
HISTORY_PAGE_SIZE = 10
# JSON escaping can grow a text a few times (\u-escapes); anything far beyond the file limit is refused
# before it is read or parsed.
LINT_BODY_LIMIT_FACTOR = 6
STILL_CHECKED = "Your Dockerfile is still checked when you submit it."
LINT_UNAVAILABLE = f"Live lint is not available on this server right now. {STILL_CHECKED}"
LINT_BUSY = f"Live lint is busy right now; it tries again when you next pause typing. {STILL_CHECKED}"
LINT_TOO_SLOW = f"Checking this Dockerfile took too long, so live lint stopped. {STILL_CHECKED}"


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
            # The exercise decides which build secrets a Dockerfile may mount, so lint needs to know it.
            "lint": f"{reverse('workspace_lint')}?{urlencode({'exercise': exercise.slug})}",
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
async def lint(request: HttpRequest) -> JsonResponse:
    """Asynchronous, so that a slow lint never holds the thread every other page shares (workspace/lint.py)."""
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
    wait = await seconds_until_allowed(request)
    if wait:
        return error(
            429,
            f"Live lint runs at most {settings.LINT_REQUESTS_PER_MINUTE} times a minute; it resumes in {wait} s. "
            + STILL_CHECKED,
        )
    try:
        if kind in LAB_KINDS:
            # The lab policies are plain Python on a bounded text (no hadolint); a worker thread keeps them off
            # the event loop.
            problems = await sync_to_async(lint_lab, thread_sensitive=False)(kind, text)
        else:
            problems = await lint_in_time_box(text, await _declared_secrets(request))
    except LintBusy:
        return error(503, LINT_BUSY)
    except LintTimedOut:
        return error(503, LINT_TOO_SLOW)
    except Exception:  # noqa: BLE001 - a broken linter must not break typing; submit still grades
        logger.exception("Live lint failed")
        return error(503, LINT_UNAVAILABLE)
    return JsonResponse({"problems": problems})


async def _declared_secrets(request: HttpRequest) -> list[str]:
    """The build secrets of the exercise the page lints for (`?exercise=`), which its Dockerfile may mount."""
    slug = request.GET.get("exercise")
    if not slug:
        return []
    exercise = await Exercise.objects.filter(slug=slug).afirst()
    return build_secret_ids(exercise.spec) if exercise is not None else []


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


# --- History ----------------------------------------------------------------------------------------------


@require_GET
@login_required_json("Log in to see your submissions.")
def history(request: HttpRequest, slug: str) -> JsonResponse:
    """One page of the learner's attempts at an exercise, newest first, without their files.

    `?page=N` (from 1) pages through them, HISTORY_PAGE_SIZE at a time; `next` is the next page's URL, or null.
    An attempt's files come from `attempt_files`, one attempt at a time.
    """
    exercise = Exercise.objects.filter(slug=slug).first()
    if exercise is None:
        return error(404, f"There is no exercise called '{slug}'.")
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 0
    if page < 1:
        return error(400, "The page must be a whole number from 1.")
    return JsonResponse(learner_history(request.user, exercise, page))


def learner_history(user, exercise: Exercise, page: int = 1, size: int = HISTORY_PAGE_SIZE) -> dict:
    """The learner's own submissions for one exercise, newest first, numbered as attempts from 1."""
    mine = Submission.objects.filter(user=user, exercise=exercise).select_related("exercise")
    total = mine.count()
    start = (page - 1) * size
    rows = mine.order_by("-created_at", "-pk")[start : start + size]
    pages = max(1, -(-total // size))
    following = f"{reverse('workspace_history', args=[exercise.slug])}?page={page + 1}" if page < pages else None
    return {
        "submissions": [history_item(row, total - start - index) for index, row in enumerate(rows)],
        "total": total,
        "page": page,
        "pages": pages,
        "next": following,
    }


def history_item(submission: Submission, attempt: int) -> dict:
    item = submission.to_dict()
    del item["files"], item["result"]
    files_url = reverse("workspace_attempt_files", args=[submission.exercise.slug, submission.pk])
    return {**item, "attempt": attempt, "files_url": files_url}


@require_GET
@login_required_json("Log in to see your submissions.")
def attempt_files(request: HttpRequest, slug: str, pk: int) -> JsonResponse:
    """The files of one of the learner's attempts, and which attempt came before it (for the diff)."""
    submission = Submission.objects.filter(pk=pk, user=request.user, exercise__slug=slug).first()
    if submission is None:
        return error(404, "There is no such attempt.")
    earlier = Submission.objects.filter(user=request.user, exercise_id=submission.exercise_id).filter(
        Q(created_at__lt=submission.created_at) | Q(created_at=submission.created_at, pk__lt=submission.pk)
    )
    previous = earlier.order_by("-created_at", "-pk").values_list("pk", flat=True).first()
    return JsonResponse(
        {
            "id": submission.pk,
            "attempt": earlier.count() + 1,
            "files": submission.files,
            # Retention empties the files of old attempts (sandbox/retention.py).
            "files_pruned": not submission.files,
            "previous": previous,
            "previous_url": reverse("workspace_attempt_files", args=[slug, previous]) if previous else None,
        }
    )


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
