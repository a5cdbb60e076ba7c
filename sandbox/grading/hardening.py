"""Hardening checks (lesson 21): no setuid or setgid files in the image, and an app that works read-only.

`no-setuid` reads the image's final filesystem through the Docker API (`docker export` of a created,
never started, container), so no tool of the image runs. `read-only` runs the image's default command to
its end as a hardened deployment would: a read-only root filesystem, a tmpfs at each path the exercise
names, every capability dropped (and no-new-privileges, which every sandbox container has).
"""

from __future__ import annotations

import re
import stat

from sandbox.environment import Hardening

from .context import GradingContext
from .outcome import Outcome, fail, ok
from .runtime import tail

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
    if result.timed_out:
        return fail(f"{shown} was still running after {timeout:g} s; output: {tail(output)}")
    expected = check.get("exit_code", 0)
    if result.exit_code != expected:
        hint = (
            " A 'Read-only file system' error names a path the app writes to." if "read-only" in output.lower() else ""
        )
        return fail(f"{shown} exited with code {result.exit_code}, expected {expected}; output: {tail(output)}.{hint}")
    for stream in ("stdout", "stderr"):
        pattern = check.get(stream)
        text = getattr(result, stream)
        if pattern and not re.search(pattern, text, re.MULTILINE):
            return fail(f"the {stream} of {shown} does not match `{pattern}`; it was: {tail(text)}")
    return ok(f"{shown} exited with code {result.exit_code}; output: {tail(output, 160)}")


HARDENING_CHECKS = {"no-setuid": check_no_setuid, "read-only": check_read_only}
