"""One learner's attempts at one exercise, for the instructor: the build log, verdicts, files and diffs."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from lessons.models import Exercise
from sandbox.models import Submission

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CONTEXT_LINES = 3


@dataclass
class DiffLine:
    kind: str  # " " unchanged, "+" added, "-" removed, "@" a hunk header
    text: str


@dataclass
class FileDiff:
    name: str
    change: str  # added, removed, changed
    lines: list[DiffLine] = field(default_factory=list)


@dataclass
class Attempt:
    submission: Submission
    number: int

    @property
    def verdicts(self) -> list[dict]:
        return (self.submission.result or {}).get("checks") or []


def learner_attempts(user, exercise: Exercise) -> list[Attempt]:
    """Every submission of the learner for the exercise, oldest first, numbered from 1 (without files or log)."""
    submissions = (
        Submission.objects.filter(user=user, exercise=exercise).defer("files").order_by("created_at", "pk").iterator()
    )
    return [Attempt(submission, number) for number, submission in enumerate(submissions, start=1)]


def build_log(submission: Submission) -> str:
    """The build output as it was streamed to the learner, from the stored log events, without colours."""
    texts = submission.events.filter(type="log").order_by("seq").values_list("data", flat=True)
    return ANSI.sub("", "\n".join(str(data.get("text", "")) for data in texts))


def ordered_files(files: dict) -> list[tuple[str, str]]:
    """The Dockerfile first, then the other files by name."""
    return sorted(
        ((str(name), str(text)) for name, text in (files or {}).items()), key=lambda f: (f[0] != "Dockerfile", f[0])
    )


def diff_files(before: dict, after: dict) -> list[FileDiff]:
    """Per changed file, a unified line diff with three lines of context; unchanged files are left out."""
    changes = []
    for name in sorted(set(before or {}) | set(after or {})):
        old, new = (before or {}).get(name), (after or {}).get(name)
        if old == new:
            continue
        change = "added" if old is None else "removed" if new is None else "changed"
        diff = difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(), lineterm="", n=CONTEXT_LINES)
        lines = [
            DiffLine(text[:1] if text[:1] in "+- " else "@", text[1:] if text[:1] in "+- " else text) for text in diff
        ]
        # The first two lines are the ---/+++ file headers, which the page shows as the file's name.
        changes.append(FileDiff(name, change, lines[2:]))
    return changes
