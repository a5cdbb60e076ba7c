"""What one check function returns, and the verdict the learner sees."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.clients import SandboxError

from .hints import default_hint

logger = logging.getLogger(__name__)

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
SKIPPED = "skipped"


@dataclass
class Outcome:
    """A check's result: passed or not, with the evidence in words."""

    passed: bool
    message: str


def ok(message: str) -> Outcome:
    return Outcome(True, message)


def fail(message: str) -> Outcome:
    return Outcome(False, message)


class CheckError(Exception):
    """The check itself could not run (not the learner's fault); reported as status "error"."""


def run_check(check: dict, run: Callable[[], Outcome]) -> tuple[str, str]:
    """Run one check: its status and message. A check that breaks is an error, never a pass.

    A daemon that went away is raised, not judged: the whole attempt is then retried on another daemon.
    """
    try:
        outcome = run()
        return (PASSED if outcome.passed else FAILED), outcome.message
    except SandboxError as error:
        if error.reason == "daemon_unavailable":
            raise
        return ERROR, f"could not run this check: {error.message}"
    except CheckError as error:
        return ERROR, f"could not run this check: {error}"
    except Exception as error:  # noqa: BLE001 - one broken check must not lose the others' verdicts
        logger.exception("Check %s (%s) broke", check.get("id"), check.get("type"))
        return ERROR, f"could not run this check: an internal error ({type(error).__name__})"


def section_url(exercise, anchor: str | None) -> str:
    """/lessons/<lesson-slug>/#<anchor>, or "" for a check with no section."""
    if not anchor or exercise is None:
        return ""
    return f"/lessons/{exercise.lesson.slug}/#{anchor}"


def make_verdict(check: dict, exercise, status: str, message: str) -> dict:
    return {
        "id": check["id"],
        "type": check["type"],
        "title": check["title"],
        "status": status,
        "passed": status == PASSED,
        "message": message,
        # A failed check always says what to change: the exercise's own hint, or one for its type.
        "hint": check.get("hint") or default_hint(str(check.get("type", ""))),
        "section_url": section_url(exercise, check.get("section")),
        "points": check.get("points", 1),
    }


def mb(size: int | float) -> str:
    """Bytes as MB for messages (decimal megabytes, as `docker images` shows them)."""
    value = size / 1_000_000
    return f"{value:.1f} MB" if value < 10 else f"{value:.0f} MB"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
