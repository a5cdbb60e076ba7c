"""Grading from the command line (`manage.py grade`, `manage.py validate_content`), without the web app.

Exercises are read from the course files (the source of truth), so no database row and no Submission
are needed. Each grading gets a synthetic id such as `cli-4242-1` for the labels of its builds and
containers, which are removed when it ends.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import redis
from django.conf import settings

from sandbox.daemons import all_docker_hosts
from sandbox.environment import BuildEnvironment
from sandbox.grading import grade_submission
from sandbox.leases import lease_daemon

from .loader import read_course
from .models import Exercise, Lesson

logger = logging.getLogger(__name__)
_counter = itertools.count(1)


def load_exercises(root: Path | None = None) -> dict[str, Exercise]:
    """Every exercise in the course files, by slug, as unsaved Exercise objects (with their Lesson)."""
    course = read_course(Path(root or settings.LESSONS_CONTENT_DIR))
    lessons = {row["slug"]: Lesson(slug=row["slug"], title=row["title"], order=row["order"]) for row in course.lessons}
    exercises = {}
    for row in course.exercises:
        exercises[row["slug"]] = Exercise(
            lesson=lessons[row["lesson_slug"]],
            slug=row["slug"],
            title=row["title"],
            spec=row["spec"],
            starter_files=row["starter_files"],
            solution_files=row["solution_files"],
            source_path=row["source_path"],
        )
    return exercises


def read_folder(folder: Path) -> dict[str, str]:
    """A folder's files as the browser would send them: relative name → text."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            try:
                files[path.relative_to(folder).as_posix()] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"{path} is not UTF-8 text; submissions hold text files only.") from None
    return files


def cli_submission_id() -> str:
    return f"cli-{os.getpid()}-{next(_counter)}"


@contextmanager
def cli_docker_host(wait_seconds: float = 120) -> Iterator[str]:
    """A sandbox daemon for a command-line grading: leased through Redis when Redis answers.

    Without Redis (a laptop, CI before the services start) the first daemon is used; builds on it could
    then overlap with a worker's, which only matters for the limits.
    """
    stack = ExitStack()
    try:
        host = stack.enter_context(lease_daemon(wait_seconds)).docker_host
    except redis.exceptions.RedisError as error:
        logger.info("No Redis for a lease (%s); using the first sandbox daemon.", error)
        host = all_docker_hosts()[0]
    with stack:
        yield host


def grade_folder(
    exercise: Exercise | None,
    files: dict[str, str],
    docker_host: str,
    on_check: Callable[[dict], None] | None = None,
    on_log: Callable[[str], None] | None = None,
) -> dict:
    """Grade files on one daemon; everything the grading made is removed afterwards."""
    with BuildEnvironment(docker_host, cli_submission_id(), on_log=on_log or (lambda line: None)) as env:
        return grade_submission(exercise, files, env, on_check=on_check)
