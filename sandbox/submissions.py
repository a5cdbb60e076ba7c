"""Accepting a learner's files: validation, rate limits, and queueing the build once the row is saved."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .catalog import catalog_names
from .events import publish
from .files import validate_files
from .models import Submission
from .policy import check_dockerfile


class RateLimited(Exception):
    """Too many builds waiting; the message tells the learner what to do."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


ACTIVE = (Submission.Status.QUEUED, Submission.Status.RUNNING)


def check_rate_limits(user) -> None:
    active = Submission.objects.filter(user=user, status__in=ACTIVE).count()
    per_user = 1 + settings.SUBMISSIONS_QUEUED_PER_USER
    if active >= per_user:
        raise RateLimited(
            f"You already have {active} builds running or waiting (the limit is {per_user}). "
            "Wait for one to finish, then submit again."
        )
    queued = Submission.objects.filter(status=Submission.Status.QUEUED).count()
    if queued >= settings.SUBMISSIONS_GLOBAL_QUEUE_CAP:
        raise RateLimited(
            "The build queue is full right now. Your files are kept in the editor; please try again in a minute."
        )


def submit(user, exercise, files: dict) -> Submission:
    """Validate the files, create a queued submission and enqueue its build after the commit."""
    validated = validate_files(files)
    check_dockerfile(validated["Dockerfile"].decode("utf-8"), catalog_names())
    with transaction.atomic():
        check_rate_limits(user)
        submission = Submission.objects.create(user=user, exercise=exercise, files=files)
        transaction.on_commit(lambda: enqueue(submission.pk))
    publish(submission.pk, "status", status="queued", message="Waiting for a build sandbox…")
    return submission


def enqueue(submission_id: int) -> None:
    from .tasks import build_submission

    build_submission.apply_async(args=[submission_id], queue="builds")


def fail_stale_submissions(now=None) -> int:
    """End submissions stuck in 'running' past the hard time limit (their worker died with them)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.BUILD_HARD_TIME_LIMIT + 60)
    stale = list(Submission.objects.filter(status=Submission.Status.RUNNING, started_at__lt=cutoff))
    message = "The build stopped without an answer (its worker went away). Please submit again."
    for submission in stale:
        updated = Submission.objects.filter(pk=submission.pk, status=Submission.Status.RUNNING).update(
            status=Submission.Status.ERROR, message=message, finished_at=now
        )
        if updated:
            publish(submission.pk, "result", status="error", score=None, message=message, checks=[])
    return len(stale)
