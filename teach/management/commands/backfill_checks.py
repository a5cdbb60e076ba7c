"""`manage.py backfill_checks`: store the verdict rows (teach.CheckResult) of graded submissions that lack them.

New verdicts are stored when a submission is graded, and the migration that created the table stored the
old ones; this command repairs the table after anything that bypassed both (a restore from a backup, rows
written by hand). `--all` rewrites every submission's rows.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Exists, OuterRef

from sandbox.models import Submission
from teach.models import CheckResult, store_check_results
from teach.verdicts import GRADED_STATUSES


class Command(BaseCommand):
    help = "Store the per-check verdict rows of graded submissions that have none (or, with --all, of every one)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="rewrite the rows of every graded submission")

    def handle(self, *args, all: bool = False, **options):
        graded = Submission.objects.filter(status__in=GRADED_STATUSES, exercise__isnull=False)
        if not all:
            graded = graded.filter(~Exists(CheckResult.objects.filter(submission=OuterRef("pk"))))
        fields = ("pk", "user_id", "exercise_id", "status", "result", "finished_at")
        submissions = rows = 0
        for submission in graded.order_by("pk").only(*fields).iterator(chunk_size=500):
            with transaction.atomic():
                rows += store_check_results(submission)
            submissions += 1
        self.stdout.write(self.style.SUCCESS(f"Stored {rows} verdicts of {submissions} submissions."))
