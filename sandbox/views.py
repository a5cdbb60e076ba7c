"""The submissions API: JSON over session auth with CSRF. Views parse and check; sandbox modules do the work."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from lessons.models import Exercise

from .files import SubmissionRejected
from .models import Submission
from .submissions import RateLimited, submit


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _parse_json(request: HttpRequest) -> dict | None:
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None


def submission_json(submission: Submission, with_events: bool = True) -> dict:
    data = {
        "id": submission.pk,
        "exercise": submission.exercise.slug if submission.exercise else None,
        "status": submission.status,
        "score": submission.score,
        "message": submission.message,
        "result": submission.result,
        "files": submission.files,
        "created_at": submission.created_at.isoformat(),
        "finished_at": submission.finished_at.isoformat() if submission.finished_at else None,
        "events_url": submission.events_path(),
    }
    if with_events:
        data["events"] = [event.as_message() for event in submission.events.order_by("seq")]
    return data


@require_POST
def create_submission(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return _error(401, "Log in to build Dockerfiles.")
    body = _parse_json(request)
    if body is None:
        return _error(400, "The request body must be a JSON object.")
    exercise = None
    slug = body.get("exercise")
    if slug is not None:
        if not isinstance(slug, str):
            return _error(400, "'exercise' must be an exercise slug or null.")
        exercise = Exercise.objects.filter(slug=slug).first()
        if exercise is None:
            return _error(404, f"There is no exercise called '{slug}'.")
    files = body.get("files")
    try:
        submission = submit(request.user, exercise, files)
    except SubmissionRejected as error:
        return _error(400, error.message)
    except RateLimited as error:
        return _error(429, error.message)
    submission.refresh_from_db(fields=["status", "message"])
    if submission.status == Submission.Status.ERROR:
        return _error(503, submission.message)
    return JsonResponse(
        {"id": submission.pk, "status": submission.status, "events": submission.events_path()}, status=202
    )


@require_GET
def submission_detail(request: HttpRequest, pk: int) -> JsonResponse:
    submission = get_object_or_404(Submission.objects.select_related("exercise"), pk=pk)
    if not submission.can_be_seen_by(request.user):
        # The same answer as a missing submission, so ids of other learners' work reveal nothing.
        return _error(404, "There is no such submission.")
    return JsonResponse(submission_json(submission))
