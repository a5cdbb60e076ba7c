"""Accepting a learner's files: validation, the security policy, rate limits, and queueing the build."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from .catalog import catalog_names
from .files import validate_files
from .labs.plan import LAB_KINDS, kind_of, lab_plan
from .models import Submission
from .policy import check_dockerfile
from .tasks import build_submission

logger = logging.getLogger(__name__)

QUEUE_UNREACHABLE = "The build queue cannot be reached right now. Your files are kept; please try again in a minute."


class RateLimited(Exception):
    """Too many builds waiting; the message tells the learner what to do."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def check_rate_limits(user) -> None:
    active = Submission.objects.filter(user=user, status__in=Submission.ACTIVE).count()
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
    """Validate the files, create a queued submission and enqueue its build after the commit.

    Raises SubmissionRejected (bad files, or a refused Dockerfile, commands.sh or compose.yaml) or RateLimited,
    each with a message.
    """
    kind = kind_of(exercise)
    if kind in LAB_KINDS:
        lab_plan(kind, files)
    else:
        validated = validate_files(files)
        check_dockerfile(validated["Dockerfile"].decode("utf-8"), catalog_names())
    with transaction.atomic():
        check_rate_limits(user)
        submission = Submission.queue(user, exercise, files)
        transaction.on_commit(lambda: enqueue(submission))
    return submission


def enqueue(submission: Submission) -> None:
    """Send the build to the workers; if the queue is unreachable, end the submission with a message."""
    try:
        build_submission.apply_async(args=[submission.pk], queue="builds", retry=False)
    except Exception:  # noqa: BLE001 - any broker failure means the same thing to the learner
        logger.exception("Could not enqueue submission %s", submission.pk)
        submission.fail(QUEUE_UNREACHABLE, reason="queue_unreachable")
