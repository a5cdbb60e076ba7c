"""Accepting a learner's files: validation, the security policy, rate limits, and queueing the build."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from .catalog import catalog_names
from .files import validate_files
from .grading.spec import build_secret_ids
from .labs.plan import LAB_KINDS, kind_of, lab_plan
from .models import Submission
from .policy import check_dockerfile
from .tasks import enqueue
from .waiting import place_of_new_submission


class RateLimited(Exception):
    """Too many builds waiting; the message tells the learner what to do."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def check_rate_limits(user) -> None:
    """Refuse a learner with too many builds waiting, or everyone when the queue is full.

    Only submissions really waiting count (Submission.objects.really_waiting): one whose task was lost and is
    about to be recovered never locks anybody out.
    """
    waiting = Submission.objects.really_waiting()
    active = waiting.filter(user=user).count()
    per_user = 1 + settings.SUBMISSIONS_QUEUED_PER_USER
    if active >= per_user:
        raise RateLimited(
            f"You already have {active} builds running or waiting (the limit is {per_user}). "
            "Wait for one to finish, then submit again."
        )
    queued = waiting.filter(status=Submission.Status.QUEUED).count()
    if queued >= settings.SUBMISSIONS_GLOBAL_QUEUE_CAP:
        raise RateLimited(
            "The build queue is full right now. Your files are kept in the editor; please try again in a minute."
        )


def submit(user, exercise, files: dict) -> Submission:
    """Validate the files, create a queued submission and enqueue its build after the commit.

    Raises SubmissionRejected (bad files, or a refused Dockerfile, commands.sh or compose.yaml) or RateLimited,
    each with a message. When the queue cannot be reached, the submission stays queued and the learner is told;
    the upkeep sends it later.
    """
    kind = kind_of(exercise)
    if kind in LAB_KINDS:
        lab_plan(kind, files)
    else:
        validated = validate_files(files)
        secret_ids = build_secret_ids(exercise.spec) if exercise is not None else []
        check_dockerfile(validated["Dockerfile"].decode("utf-8"), catalog_names(), secret_ids)
    with transaction.atomic():
        check_rate_limits(user)
        submission = Submission.queue(user, exercise, files, waiting=place_of_new_submission())
        transaction.on_commit(lambda: enqueue(submission))
    return submission
