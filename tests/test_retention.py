"""Retention: old build logs, files and submissions are pruned by age; unfinished work and verdicts are kept."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from sandbox.models import Submission, SubmissionEvent
from sandbox.retention import prune

pytestmark = pytest.mark.django_db

FILES = {"Dockerfile": "FROM busybox:latest\n"}


@pytest.fixture(autouse=True)
def retention(settings):
    settings.SUBMISSION_EVENTS_RETENTION_DAYS = 30
    settings.SUBMISSION_FILES_RETENTION_DAYS = 180
    settings.SUBMISSION_RETENTION_DAYS = 365


def finished(user, days_ago: float, status: str = "passed") -> Submission:
    submission = Submission.queue(user, None, FILES)
    submission.publish("log", text="#1 building")
    submission.publish("result", status=status, score=100, message="ok")
    finished_at = timezone.now() - timedelta(days=days_ago)
    Submission.objects.filter(pk=submission.pk).update(status=status, finished_at=finished_at)
    return Submission.objects.get(pk=submission.pk)


def event_types(submission: Submission) -> list[str]:
    return list(submission.events.order_by("seq").values_list("type", flat=True))


def test_each_step_goes_by_the_age_of_the_finished_submission(user):
    fresh, month, half_year, year = (finished(user, days) for days in (1, 40, 200, 400))
    still_running = Submission.queue(user, None, FILES)
    Submission.objects.filter(pk=still_running.pk).update(
        status="running", created_at=timezone.now() - timedelta(days=500)
    )
    pruned = prune()
    assert (pruned.events, pruned.files, pruned.submissions) == (6, 2, 1)
    assert event_types(fresh) == ["status", "log", "result"]
    # The verdicts stay: the final result event is kept as long as the submission.
    assert event_types(month) == ["result"]
    assert Submission.objects.get(pk=month.pk).files == FILES
    assert Submission.objects.get(pk=half_year.pk).files == {}
    assert not Submission.objects.filter(pk=year.pk).exists()
    assert not SubmissionEvent.objects.filter(submission_id=year.pk).exists()
    assert event_types(still_running) == ["status"]
    # A second prune finds nothing more.
    again = prune()
    assert (again.events, again.files, again.submissions) == (0, 0, 0)


def test_a_large_prune_goes_in_batches(user, monkeypatch):
    monkeypatch.setattr("sandbox.retention.BATCH", 2)
    for _ in range(5):
        finished(user, 400)
    assert prune().submissions == 5
    assert not Submission.objects.exists()


def test_the_command_says_what_went_and_a_dry_run_changes_nothing(user):
    finished(user, 400)
    out = io.StringIO()
    call_command("prune_submissions", "--dry-run", stdout=out)
    assert "Submissions finished over 365 days ago: 1 would go." in out.getvalue()
    assert Submission.objects.count() == 1
    out = io.StringIO()
    call_command("prune_submissions", stdout=out)
    assert out.getvalue().splitlines() == [
        "Events of submissions finished over 30 days ago: 2 went.",
        "Files of submissions finished over 180 days ago: 1 emptied.",
        "Submissions finished over 365 days ago: 1 went.",
    ]
    assert Submission.objects.count() == 0
