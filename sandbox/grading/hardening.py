"""Hardening checks (lesson 21): no setuid or setgid files in the image, and an app that works read-only.

`no-setuid` reads the image's final filesystem through the Docker API (`docker export` of a created,
never started, container), so no tool of the image runs. `read-only` runs the image's default command to
its end as a hardened deployment would: a read-only root filesystem, a tmpfs at each path the exercise
names, every capability dropped (and no-new-privileges, which every sandbox container has).
"""

from __future__ import annotations

import stat

from sandbox.environment import Hardening

from .context import GradingContext
from .outcome import Outcome, fail, ok
from .runtime import judge_run

SHOWN_FILES = 5


def image_path(name: str) -> str:
    """A tar entry's name (`usr/bin/su`, `./usr/bin/su`) as an absolute path in the image."""
    return "/" + name.removeprefix("./").lstrip("/")


def check_no_setuid(check: dict, context: GradingContext) -> Outcome:
    found = []
    for entry, _ in context.sandbox.filesystem(context.image):
        if entry.isfile() and entry.mode & (stat.S_ISUID | stat.S_ISGID):
            kind = "setuid" if entry.mode & stat.S_ISUID else "setgid"
            found.append(f"{image_path(entry.name)} ({kind})")
    if found:
        shown = ", ".join(found[:SHOWN_FILES]) + (
            f" and {len(found) - SHOWN_FILES} more" if len(found) > SHOWN_FILES else ""
        )
        return fail(
            f"the image has {len(found)} file{'s' if len(found) != 1 else ''} that run with their owner's or group's "
            f"rights, whoever starts them: {shown}."
        )
    return ok("no file in the image has the setuid or setgid bit.")


def check_read_only(check: dict, context: GradingContext) -> Outcome:
    tmpfs = tuple(check.get("tmpfs") or [])
    hardening = Hardening(read_only=True, tmpfs=tmpfs, cap_drop=("ALL",))
    shown = "`docker run --read-only " + "".join(f"--tmpfs {path} " for path in tmpfs) + "--cap-drop ALL IMAGE`"
    timeout = check.get("timeout", context.check_seconds)
    result = context.sandbox.run_hardened(context.image, hardening, timeout)
    output = result.stdout + result.stderr
    hint = " A 'Read-only file system' error names a path the app writes to." if "read-only" in output.lower() else ""
    return judge_run(result, check, shown, timeout, exit_hint=hint)


HARDENING_CHECKS = {"no-setuid": check_no_setuid, "read-only": check_read_only}
