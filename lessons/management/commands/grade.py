"""`manage.py grade EXERCISE DIR [--json] [--log]`: grade a folder of files against an exercise's checks."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lessons.loader import ContentError
from lessons.validation import cli_docker_host, grade_folder, load_exercises, read_folder
from sandbox.clients import SandboxError
from sandbox.leases import NoDaemonFree

MARKS = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "-"}


def format_verdict(verdict: dict) -> list[str]:
    """A verdict as a few readable lines: mark and title, then the evidence, hint and lesson link."""
    lines = [f"{MARKS.get(verdict['status'], '?')} {verdict['title']}", f"    {verdict['message']}"]
    if not verdict["passed"] and verdict.get("hint"):
        lines.append(f"    Hint: {verdict['hint']}")
    if not verdict["passed"] and verdict.get("section_url"):
        lines.append(f"    See {verdict['section_url']}")
    return lines


class Command(BaseCommand):
    help = "Grade the files in DIR (a Dockerfile, or a lab, and friends) against the checks of EXERCISE, in a sandbox."

    def add_arguments(self, parser):
        parser.add_argument("exercise", help="the exercise's slug, e.g. layer-cache")
        parser.add_argument(
            "directory",
            help="a folder holding the Dockerfile (or a lab's commands.sh or compose.yaml) and the other files",
        )
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the whole result as JSON")
        parser.add_argument(
            "--log", action="store_true", help="also print the build output (a lab: each command and its output)"
        )

    def handle(self, *args, exercise: str, directory: str, as_json: bool = False, log: bool = False, **options):
        folder = Path(directory)
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        try:
            exercises = load_exercises()
        except ContentError as error:
            raise CommandError(f"The course files have problems:\n{error}") from None
        if exercise not in exercises:
            raise CommandError(f"There is no exercise '{exercise}'. Exercises: {', '.join(sorted(exercises))}")
        on_check = None if as_json else self.print_verdict
        on_log = self.stdout.write if log and not as_json else None
        try:
            files = read_folder(folder)
        except ValueError as error:
            raise CommandError(str(error)) from None
        try:
            with cli_docker_host() as docker_host:
                if not as_json:
                    self.stdout.write(f"Grading {folder} against {exercise} on {docker_host}")
                result = grade_folder(exercises[exercise], files, docker_host, on_check, on_log)
        except (SandboxError, NoDaemonFree) as error:
            raise CommandError(getattr(error, "message", str(error))) from None
        if as_json:
            self.stdout.write(_dumps(result))
        else:
            self.stdout.write(f"Score {result['score']}/100: {result['message']}")
        if not result["passed"]:
            raise SystemExit(1)

    def print_verdict(self, verdict: dict) -> None:
        for line in format_verdict(verdict):
            self.stdout.write(line)


def _dumps(result: dict) -> str:
    return json.dumps(result, indent=2, ensure_ascii=False)
