"""Celery tasks: thin. They take ids, re-fetch rows, and hand the work to sandbox classes."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready
from django.conf import settings

from .cleanup import remove_stale_workdirs
from .daemons import all_docker_hosts
from .leases import NoDaemonFree, lease_daemon
from .models import Submission
from .pipeline import SubmissionPipeline, remove_old_leftovers

logger = logging.getLogger(__name__)

TOO_SLOW = "The build took longer than this sandbox allows and was stopped."
OUR_FAULT = "Something went wrong on our side while building. Your files are saved; please try again."


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def build_submission(self, submission_id: int) -> None:
    submission = Submission.objects.filter(pk=submission_id).select_related("exercise", "user").first()
    if submission is None or submission.is_finished:
        return
    # One running build per learner: wait for the learner's other build instead of taking a sandbox.
    busy = Submission.objects.filter(user_id=submission.user_id, status=Submission.Status.RUNNING)
    if busy.exclude(pk=submission_id).exists():
        raise self.retry(countdown=2)
    if not submission.start_attempt():
        return
    try:
        with lease_daemon() as docker_host:
            submission.use_daemon(docker_host)
            SubmissionPipeline(submission, docker_host).run()
    except NoDaemonFree:
        # Every sandbox is busy: back to the queue without spending an attempt.
        submission.requeue()
        raise self.retry(countdown=3) from None
    except SoftTimeLimitExceeded:
        submission.fail(TOO_SLOW, reason="timeout")
    except Exception:
        logger.exception("Submission %s failed inside the worker", submission_id)
        submission.fail(OUR_FAULT, reason="internal")


@worker_ready.connect
def clean_up_at_worker_start(**kwargs) -> None:
    """Whatever a dead worker left behind is cleaned up when a worker starts."""
    Submission.fail_stale()
    remove_stale_workdirs(settings.BUILD_HARD_TIME_LIMIT + 60)
    for host in all_docker_hosts():
        remove_old_leftovers(host)
