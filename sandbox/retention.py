"""Retention: how long finished submissions, their events and their files are kept.

Three steps, each by the age of the finished submission (settings, in days):

- SUBMISSION_EVENTS_RETENTION_DAYS: the build log and the other events go, except the final "result" event,
  so an old attempt still shows its verdicts. Logs are most of the data.
- SUBMISSION_FILES_RETENTION_DAYS: the learner's files are emptied (the attempt can no longer be loaded into
  the editor or compared).
- SUBMISSION_RETENTION_DAYS: the submission goes, with what is left of its events.

Course progress (lessons.ExerciseProgress) is kept apart and never pruned. Unfinished submissions are never
touched. Rows are deleted in batches, so a large first prune never holds the database for long. The upkeep
runs `prune` about once an hour; `manage.py prune_submissions` runs it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Submission, SubmissionEvent

BATCH = 500


@dataclass
class Pruned:
    events: int = 0
    files: int = 0
    submissions: int = 0


def cutoff(days: int, now=None):
    return (now or timezone.now()) - timedelta(days=days)


def finished_before(days: int, now=None):
    return Submission.objects.filter(status__in=Submission.FINISHED, finished_at__lt=cutoff(days, now))


def prune(now=None, dry_run: bool = False) -> Pruned:
    """Apply the three retention steps; with dry_run, only count what would go."""
    pruned = Pruned()
    old_events = SubmissionEvent.objects.filter(
        submission__in=finished_before(settings.SUBMISSION_EVENTS_RETENTION_DAYS, now)
    ).exclude(type="result")
    old_files = finished_before(settings.SUBMISSION_FILES_RETENTION_DAYS, now).exclude(files={})
    old_submissions = finished_before(settings.SUBMISSION_RETENTION_DAYS, now)
    if dry_run:
        return Pruned(old_events.count(), old_files.count(), old_submissions.count())
    pruned.events = delete_in_batches(SubmissionEvent, old_events)
    pruned.files = empty_files_in_batches(old_files)
    pruned.submissions = delete_in_batches(Submission, old_submissions)
    return pruned


def delete_in_batches(model, queryset) -> int:
    """Delete the rows of `queryset`, BATCH at a time; returns how many rows of `model` went."""
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return total
        with transaction.atomic():
            deleted = model.objects.filter(pk__in=ids).delete()[1]
        total += deleted.get(model._meta.label, 0)


def empty_files_in_batches(queryset) -> int:
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return total
        total += Submission.objects.filter(pk__in=ids).update(files={})
