"""A graded submission's verdicts as the fields of teach.CheckResult rows.

Pure functions of the stored result, with no model imports, so the backfill migration can use them as
they are today without depending on the models' current state.
"""

from __future__ import annotations

import re

GRADED_STATUSES = ("passed", "failed")
MESSAGE_LIMIT = 1000
PATTERN_LIMIT = 300


def message_pattern(message: str) -> str:
    """A failure message with its numbers and ids blanked, so that messages differing only in the evidence
    ("the image is 152 MB" and "the image is 148 MB") count as the same failure."""
    text = re.sub(r"\b[0-9a-f]{12,}\b", "…", message)
    text = re.sub(r"\d+(?:\.\d+)?", "#", text)
    return " ".join(text.split())[:PATTERN_LIMIT]


def verdict_fields(status: str, result: object) -> list[dict]:
    """One dict of CheckResult fields per verdict of a graded submission ("passed" or "failed"); [] otherwise.

    A submission that could not finish ("error") has no verdicts worth counting: nothing was graded.
    A check id that appears twice (never from the grader) is counted once, the last verdict winning.
    """
    if status not in GRADED_STATUSES or not isinstance(result, dict):
        return []
    rows: dict[str, dict] = {}
    for verdict in result.get("checks") or []:
        if not isinstance(verdict, dict) or not verdict.get("id"):
            continue
        message = str(verdict.get("message") or "")
        check_id = str(verdict["id"])[:100]
        rows[check_id] = {
            "check_id": check_id,
            "check_type": str(verdict.get("type") or "")[:40],
            "status": str(verdict.get("status") or "")[:10],
            "message": message[:MESSAGE_LIMIT],
            "message_pattern": message_pattern(message),
        }
    return list(rows.values())
