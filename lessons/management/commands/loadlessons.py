from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lessons.loader import ContentError, load_course


class Command(BaseCommand):
    help = "Load the course from lessons/content into the database (idempotent, all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--content", type=Path, default=None, help="content folder (default: the shipped course)")

    def handle(self, *args, content=None, **options):
        root = content or settings.LESSONS_CONTENT_DIR
        try:
            summary = load_course(Path(root))
        except ContentError as error:
            raise CommandError(
                f"The course was not loaded; nothing changed. {len(error.problems)} problem(s):\n" + str(error)
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {summary.lessons} lessons, {summary.exercises} exercises and "
                f"{summary.questions} questions ({summary.removed} stale rows removed)."
            )
        )
