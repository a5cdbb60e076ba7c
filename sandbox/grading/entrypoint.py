"""The `run-args` check: `docker run IMAGE ARGS...`, where the arguments replace CMD and reach the ENTRYPOINT.

An entrypoint script that prepares the container and ends with `exec "$@"` runs whatever command it is
given. This check runs the image with the exercise's arguments, keeping the image's ENTRYPOINT (unlike the
`command` check, which replaces it), and judges the exit code and the output.
"""

from __future__ import annotations

import re

from .context import GradingContext
from .outcome import Outcome, fail, ok
from .runtime import tail


def shown_args(args: list[str]) -> str:
    """The arguments as a learner would type them after `docker run IMAGE`."""
    return " ".join(f'"{arg}"' if not arg or re.search(r"\s", arg) else arg for arg in args)


def check_run_args(check: dict, context: GradingContext) -> Outcome:
    args = list(check["args"])
    shown = f"`docker run IMAGE {shown_args(args)}`"
    timeout = check.get("timeout", context.check_seconds)
    result = context.sandbox.run_args(context.image, args, check.get("env"), timeout)
    output = result.stdout + result.stderr
    if result.timed_out:
        return fail(f"{shown} was still running after {timeout:g} s; output: {tail(output)}")
    if result.oom_killed:
        return fail(f"{shown} ran out of memory and was killed.")
    expected = check.get("exit_code", 0)
    if result.exit_code != expected:
        return fail(f"{shown} exited with code {result.exit_code}, expected {expected}; output: {tail(output)}")
    for stream in ("stdout", "stderr"):
        pattern = check.get(stream)
        text = getattr(result, stream)
        if pattern and not re.search(pattern, text, re.MULTILINE):
            return fail(f"the {stream} of {shown} does not match `{pattern}`; it was: {tail(text)}")
    return ok(f"{shown} exited with code {result.exit_code}; output: {tail(output, 160)}")


ENTRYPOINT_CHECKS = {"run-args": check_run_args}
