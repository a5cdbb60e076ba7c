"""Accepting a learner's files: validation, rate limits, and queueing the build once the row is saved."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .catalog import catalog_names
from .events import publish
from .files import validate_files
from .models import Submission
from .policy import check_dockerfile

logger = logging.getLogger(__name__)


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
        # Stored with the submission, so "queued" is always the first event, before anything a worker sends.
        publish(submission.pk, "status", status="queued", message="Waiting for a build sandbox…")
        transaction.on_commit(lambda: enqueue(submission.pk))
    return submission


QUEUE_UNREACHABLE = "The build queue cannot be reached right now. Your files are kept; please try again in a minute."


def enqueue(submission_id: int) -> None:
    """Send the build to the workers; if the queue is unreachable, end the submission with a message."""
    from .tasks import build_submission

    try:
        build_submission.apply_async(args=[submission_id], queue="builds", retry=False)
    except Exception:  # noqa: BLE001 - any broker failure means the same thing to the learner
        logger.exception("Could not enqueue submission %s", submission_id)
        end_with_error(submission_id, QUEUE_UNREACHABLE)


def end_with_error(submission_id: int, message: str) -> bool:
    """End an unfinished submission as "could not finish", telling the learner why; False if it had ended."""
    unfinished = Submission.objects.filter(pk=submission_id).exclude(status__in=Submission.FINISHED)
    if not unfinished.update(status=Submission.Status.ERROR, message=message, finished_at=timezone.now()):
        return False
    publish(submission_id, "result", status="error", score=None, message=message, checks=[])
    return True


def fail_stale_submissions(now=None) -> int:
    """End submissions stuck in 'running' past the hard time limit (their worker died with them)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.BUILD_HARD_TIME_LIMIT + 60)
    stale = Submission.objects.filter(status=Submission.Status.RUNNING, started_at__lt=cutoff)
    message = "The build stopped without an answer (its worker went away). Please submit again."
    return sum(end_with_error(pk, message) for pk in list(stale.values_list("pk", flat=True)))
