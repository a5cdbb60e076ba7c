"""`manage.py validate_content [SLUG ...]`: prove every exercise can be solved and is not solved already.

Every reference solution must pass every check, and every starter must fail at least one, graded for real
in a sandbox daemon. Prints a table and exits non-zero when any exercise is wrong.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from lessons.loader import ContentError
from lessons.validation import cli_docker_host, grade_folder, load_exercises
from sandbox.clients import SandboxError
from sandbox.leases import NoDaemonFree


def solution_row(result: dict) -> tuple[bool, str]:
    checks = result["checks"]
    bad = [verdict for verdict in checks if not verdict["passed"]]
    if not bad:
        return True, f"passes all {len(checks)}"
    return False, "FAILS " + ", ".join(f"{v['id']} ({v['status']}: {v['message'][:80]})" for v in bad)


def starter_row(result: dict) -> tuple[bool, str]:
    checks = result["checks"]
    failed = [verdict["id"] for verdict in checks if verdict["status"] == "failed" or verdict["status"] == "skipped"]
    errors = [verdict for verdict in checks if verdict["status"] == "error"]
    if errors:
        return False, "ERROR " + ", ".join(f"{v['id']}: {v['message'][:80]}" for v in errors)
    if not failed:
        return False, f"PASSES all {len(checks)}: the starter is already a solution"
    return True, f"fails {len(failed)} of {len(checks)}: {', '.join(failed)}"


class Command(BaseCommand):
    help = "Grade every exercise's solution (must pass every check) and starter (must fail at least one)."

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="only these exercises (default: all)")

    def handle(self, *args, slugs: list[str], **options):
        try:
            exercises = load_exercises()
        except ContentError as error:
            raise CommandError(f"The course files have problems:\n{error}") from None
        unknown = sorted(set(slugs) - set(exercises))
        if unknown:
            raise CommandError(f"No such exercises: {', '.join(unknown)}")
        chosen = [exercises[slug] for slug in (slugs or exercises)]
        rows = []
        for exercise in chosen:
            rows.append(self.validate(exercise))
        self.print_table(rows)
        wrong = [row for row in rows if not (row[1] and row[3])]
        if wrong:
            raise CommandError(f"{len(wrong)} of {len(rows)} exercises are not gradeable as shipped.")
        self.stdout.write(self.style.SUCCESS(f"All {len(rows)} exercises: solutions pass, starters fail."))

    def validate(self, exercise) -> tuple[str, bool, str, bool, str, float]:
        started = time.monotonic()
        try:
            with cli_docker_host() as docker_host:
                solution = grade_folder(exercise, exercise.solution_files, docker_host)
                starter = grade_folder(exercise, exercise.starter_files, docker_host)
        except (SandboxError, NoDaemonFree) as error:
            message = getattr(error, "message", str(error))
            return exercise.slug, False, f"ERROR {message}", False, "", time.monotonic() - started
        solution_ok, solution_text = solution_row(solution)
        starter_ok, starter_text = starter_row(starter)
        seconds = time.monotonic() - started
        mark = "✓" if solution_ok and starter_ok else "✗"
        self.stderr.write(f"{mark} {exercise.slug} ({seconds:.0f} s)")
        return exercise.slug, solution_ok, solution_text, starter_ok, starter_text, seconds

    def print_table(self, rows: list) -> None:
        width = max(len("exercise"), *(len(row[0]) for row in rows))
        self.stdout.write(f"{'exercise':<{width}}  ok  {'time':>5}  solution / starter")
        for slug, solution_ok, solution_text, starter_ok, starter_text, seconds in rows:
            mark = "✓" if solution_ok and starter_ok else "✗"
            self.stdout.write(f"{slug:<{width}}  {mark}   {seconds:4.0f}s  solution: {solution_text}")
            self.stdout.write(f"{'':<{width}}            starter:  {starter_text}")
