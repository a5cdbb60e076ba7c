"""Authoring with a live preview: watch the course files, reload them on change, say where each error is,
and grade one exercise's solution and starter on demand.

`manage.py author` runs a `Watcher` next to the web server; the preview pages (teach/author_views.py) read
the problems with `check_course` and grade with `validate_exercise`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml
from django.conf import settings
from django.db import connections
from django.utils import timezone

from sandbox.clients import SandboxError
from sandbox.leases import NoDaemonFree

from .loader import ContentError, LoadSummary, load_course, read_course
from .management.commands.validate_content import solution_row, starter_row
from .validation import cli_docker_host, grade_folder, load_exercises

# "content/07-layer-caching/lesson.md:12: message" or "content/07-layer-caching/lesson.md: message".
PROBLEM_PATTERN = re.compile(r"^(?P<path>[^:\n]+?)(?::(?P<line>\d+))?: (?P<message>.*)$", re.DOTALL)
CHECK_INDEX = re.compile(r"^checks\[(\d+)\]")
QUOTED_KEY = re.compile(r"'([a-z_]+)'")


def content_root() -> Path:
    return Path(settings.LESSONS_CONTENT_DIR)


# --- Where an error is ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One loader or spec error, with the file and line it is about and that line's text."""

    path: str
    line: int | None
    message: str
    source: str = ""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


def parse_problem(text: str, root: Path) -> Problem:
    """A loader error ("path[:line]: message") as a Problem, finding the line where the loader gave none."""
    match = PROBLEM_PATTERN.match(text)
    if match is None:
        return Problem(str(root), None, text)
    path, message = match.group("path"), match.group("message")
    line = int(match.group("line")) if match.group("line") else None
    file = root.parent / path
    if line is None:
        line = locate(file, message)
    return Problem(path, line, message, source_line(file, line))


def locate(file: Path, message: str) -> int | None:
    """The line a message without one is about: the check it names in exercise.yaml, the key it names in
    exercise.yaml or in a lesson's front matter."""
    if not file.is_file():
        return None
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    key = QUOTED_KEY.search(message)
    if file.name == "exercise.yaml":
        return _yaml_line(text, message, key.group(1) if key else None)
    if file.name == "lesson.md" and key:
        return _front_matter_line(text, key.group(1))
    return None


def _yaml_line(text: str, message: str, key: str | None) -> int | None:
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    top = {name.value: (name, value) for name, value in root.value if isinstance(name, yaml.ScalarNode)}
    check = CHECK_INDEX.match(message)
    if check and "checks" in top and isinstance(top["checks"][1], yaml.SequenceNode):
        items = top["checks"][1].value
        index = int(check.group(1))
        if index >= len(items):
            return top["checks"][0].start_mark.line + 1
        item = items[index]
        if key and isinstance(item, yaml.MappingNode):
            for name, _ in item.value:
                if isinstance(name, yaml.ScalarNode) and name.value == key:
                    return name.start_mark.line + 1
        return item.start_mark.line + 1
    first_word = message.split(":")[0].strip("' ")
    for name in (key, first_word):
        if name in top:
            return top[name][0].start_mark.line + 1
    return None


def _front_matter_line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines()[1:], start=2):
        if line.strip() == "---":
            return 2 if key in {"title", "order", "objectives"} else None
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return number
    return None


def source_line(file: Path, line: int | None) -> str:
    if not line:
        return ""
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    return lines[line - 1] if 0 < line <= len(lines) else ""


def problems_of(error: ContentError, root: Path) -> list[Problem]:
    return [parse_problem(text, root) for text in error.problems]


# --- Watching the files ------------------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every course file's modification time and size, by path. Editors' hidden and backup files are left out."""
    found = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part.startswith(".") or part.endswith("~") for part in relative.parts):
            continue
        try:
            stat = path.stat()
        except OSError:
            continue  # removed while we looked
        if path.is_file():
            found[relative.as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return found


def changed_paths(before: dict, after: dict) -> list[str]:
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


_checked: tuple[Path, dict, list[Problem]] | None = None
_checked_lock = threading.Lock()


def check_course(root: Path | None = None) -> list[Problem]:
    """The course files' problems as they are on disk now (nothing is written). Read again only after a change."""
    global _checked
    root = root or content_root()
    with _checked_lock:
        files = snapshot(root)
        if _checked is not None and _checked[:2] == (root, files):
            return _checked[2]
        try:
            read_course(root)
            problems = []
        except ContentError as error:
            problems = problems_of(error, root)
        _checked = (root, files, problems)
        return problems


@dataclass
class Reload:
    """One reload of the course: what changed, and what was loaded or why nothing was."""

    at: datetime
    changed: list[str]
    summary: LoadSummary | None
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.summary is not None


def reload_course(root: Path | None = None, changed: list[str] | None = None) -> Reload:
    """Load the course into the database, all or nothing (lessons.loader.load_course)."""
    root = root or content_root()
    started = time.monotonic()
    try:
        summary, problems = load_course(root), []
    except ContentError as error:
        summary, problems = None, problems_of(error, root)
    return Reload(timezone.now(), changed or [], summary, problems, time.monotonic() - started)


class Watcher:
    """Polls the course files' modification times and reloads the course when any changed.

    Polling every second needs no extra dependency and costs a few milliseconds for the whole course.
    """

    def __init__(self, root: Path | None = None, interval: float = 1.0):
        self.root = root or content_root()
        self.interval = interval
        self.files: dict = {}
        self.last: Reload | None = None

    def poll(self) -> Reload | None:
        """Reload if anything changed since the last poll (the first poll always loads)."""
        files = snapshot(self.root)
        if self.last is not None and files == self.files:
            return None
        changed = changed_paths(self.files, files) if self.last is not None else []
        self.files = files
        self.last = reload_course(self.root, changed)
        return self.last

    def run(self, stop: threading.Event, report: Callable[[Reload], None]) -> None:
        """Poll until `stop` is set, reporting each reload (run in a thread of its own)."""
        try:
            while not stop.wait(self.interval):
                reloaded = self.poll()
                if reloaded is not None:
                    report(reloaded)
        finally:
            connections.close_all()


# The watcher `manage.py author` runs in this process, if any: the preview says when it last reloaded.
active_watcher: Watcher | None = None


# --- Grading one exercise now ------------------------------------------------------------------------------------


@dataclass
class GradedFolder:
    ok: bool
    summary: str
    checks: list[dict]


@dataclass
class Validation:
    """validate_content for one exercise: the solution must pass every check, the starter fail at least one."""

    slug: str
    solution: GradedFolder | None = None
    starter: GradedFolder | None = None
    error: str = ""
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.solution and self.starter and self.solution.ok and self.starter.ok)


def validate_exercise(slug: str, root: Path | None = None, wait_seconds: float = 60) -> Validation:
    """Grade the exercise's solution and starter, as on disk now, in a sandbox daemon."""
    root = root or content_root()
    started = time.monotonic()
    try:
        exercises = load_exercises(root)
    except ContentError as error:
        return Validation(
            slug, error="The course files have problems; fix them first.", problems=problems_of(error, root)
        )
    exercise = exercises.get(slug)
    if exercise is None:
        return Validation(slug, error=f"There is no exercise called '{slug}' in the course files.")
    try:
        with cli_docker_host(wait_seconds) as docker_host:
            solution = grade_folder(exercise, exercise.solution_files, docker_host)
            starter = grade_folder(exercise, exercise.starter_files, docker_host)
    except (SandboxError, NoDaemonFree) as error:
        message = getattr(error, "message", "") or str(error)
        return Validation(slug, error=f"Could not grade in the sandbox: {message}", seconds=time.monotonic() - started)
    return Validation(
        slug,
        solution=GradedFolder(*solution_row(solution), solution["checks"]),
        starter=GradedFolder(*starter_row(starter), starter["checks"]),
        seconds=time.monotonic() - started,
    )
