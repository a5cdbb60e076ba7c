"""`manage.py prune_submissions [--dry-run]`: apply the retention settings now (the upkeep does it hourly)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from sandbox.retention import prune


class Command(BaseCommand):
    help = "Delete old build logs, files and submissions as the SUBMISSION_*_RETENTION_DAYS settings say."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")

    def handle(self, *args, dry_run: bool = False, **options):
        pruned = prune(dry_run=dry_run)
        verb = "would go" if dry_run else "went"
        self.stdout.write(
            f"Events of submissions finished over {settings.SUBMISSION_EVENTS_RETENTION_DAYS} days ago: "
            f"{pruned.events} {verb}."
        )
        emptied = "would be emptied" if dry_run else "emptied"
        self.stdout.write(
            f"Files of submissions finished over {settings.SUBMISSION_FILES_RETENTION_DAYS} days ago: "
            f"{pruned.files} {emptied}."
        )
        self.stdout.write(
            f"Submissions finished over {settings.SUBMISSION_RETENTION_DAYS} days ago: {pruned.submissions} {verb}."
        )
