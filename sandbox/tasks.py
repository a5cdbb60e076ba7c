"""Celery tasks: thin. They take ids, re-fetch rows, and hand the work to sandbox classes."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from .events import publish
from .leases import NoDaemonFree, lease_daemon
from .models import Submission
from .submissions import end_with_error, fail_stale_submissions

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def build_submission(self, submission_id: int) -> None:
    submission = Submission.objects.filter(pk=submission_id).select_related("exercise", "user").first()
    if submission is None or submission.is_finished:
        return
    # One running build per learner: wait for the learner's other build instead of taking a sandbox.
    busy = Submission.objects.filter(user_id=submission.user_id, status=Submission.Status.RUNNING)
    if busy.exclude(pk=submission_id).exists():
        raise self.retry(countdown=2)
    Submission.objects.filter(pk=submission_id).update(
        attempts=F("attempts") + 1, status=Submission.Status.RUNNING, started_at=timezone.now()
    )
    submission.refresh_from_db()
    if submission.attempts > settings.SUBMISSION_MAX_ATTEMPTS:
        end_with_error(submission.pk, "The build was interrupted twice (its worker stopped). Please submit again.")
        return
    if submission.attempts > 1:
        publish(submission_id, "status", status="running", message="Retrying after an interrupted build…")
    try:
        with lease_daemon() as docker_host:
            Submission.objects.filter(pk=submission_id).update(docker_host=docker_host)
            _reap_old_leftovers(docker_host)
            from .pipeline import SubmissionPipeline

            SubmissionPipeline(submission, docker_host).run()
    except NoDaemonFree:
        # Every sandbox is busy: put the submission back in the queue without spending an attempt.
        Submission.objects.filter(pk=submission_id).update(status=Submission.Status.QUEUED, attempts=F("attempts") - 1)
        raise self.retry(countdown=3) from None
    except SoftTimeLimitExceeded:
        end_with_error(submission.pk, "The build took longer than this sandbox allows and was stopped.")
    except Exception:
        logger.exception("Submission %s failed inside the worker", submission_id)
        end_with_error(
            submission.pk, "Something went wrong on our side while building. Your files are saved; please try again."
        )


def _reap_old_leftovers(docker_host: str) -> None:
    """Remove containers and images that outlived their build, on the daemon this build now holds."""
    from .runner import SandboxError, reap

    try:
        reap(docker_host, older_than_seconds=settings.BUILD_HARD_TIME_LIMIT + 60)
    except SandboxError as error:
        logger.warning("Could not reap leftovers on %s: %s", docker_host, error.message)


@worker_ready.connect
def clean_up_at_worker_start(**kwargs) -> None:
    """Whatever a dead worker left behind is cleaned up when a worker starts."""
    from .daemons import all_docker_hosts
    from .runner import remove_stale_workdirs

    fail_stale_submissions()
    remove_stale_workdirs(settings.BUILD_HARD_TIME_LIMIT + 60)
    for host in all_docker_hosts():
        _reap_old_leftovers(host)
