"""The `run-args` check: `docker run IMAGE ARGS...`, where the arguments replace CMD and reach the ENTRYPOINT.

An entrypoint script that prepares the container and ends with `exec "$@"` runs whatever command it is
given. This check runs the image with the exercise's arguments, keeping the image's ENTRYPOINT (unlike the
`command` check, which replaces it), and judges the exit code and the output.
"""

from __future__ import annotations

import re

from .context import GradingContext
from .outcome import Outcome
from .runtime import judge_run


def shown_args(args: list[str]) -> str:
    """The arguments as a learner would type them after `docker run IMAGE`."""
    return " ".join(f'"{arg}"' if not arg or re.search(r"\s", arg) else arg for arg in args)


def check_run_args(check: dict, context: GradingContext) -> Outcome:
    args = list(check["args"])
    shown = f"`docker run IMAGE {shown_args(args)}`"
    timeout = check.get("timeout", context.check_seconds)
    result = context.sandbox.run_args(context.image, args, check.get("env"), timeout)
    return judge_run(result, check, shown, timeout)


ENTRYPOINT_CHECKS = {"run-args": check_run_args}
