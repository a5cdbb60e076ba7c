"""A lab's files checked before anything runs: the one place that applies the right policy for each kind."""

from __future__ import annotations

from sandbox.files import SubmissionRejected, validate_files

from .commands import COMMANDS_FILE, CommandPlan, check_commands
from .compose import COMPOSE_FILE, ComposePlan, ComposeRefused, check_compose
from .shellwords import CommandRefused

LAB_KINDS = ("commands", "compose")
# The file a learner writes in each kind of exercise; it comes first in the editor and is linted live.
MAIN_FILES = {"dockerfile": "Dockerfile", "commands": COMMANDS_FILE, "compose": COMPOSE_FILE}


def kind_of(exercise) -> str:
    """The exercise's kind from its spec ("dockerfile" for the playground and for exercises that say nothing)."""
    spec = getattr(exercise, "spec", None)
    kind = spec.get("kind", "dockerfile") if isinstance(spec, dict) else "dockerfile"
    return kind if kind in MAIN_FILES else "dockerfile"


def text_files(files: dict) -> dict[str, str]:
    return {
        name: data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data) for name, data in files.items()
    }


def lab_plan(kind: str, files: object) -> CommandPlan | ComposePlan:
    """The checked plan of a lab's files; SubmissionRejected (naming the file, line and reason) if refused."""
    main = MAIN_FILES[kind]
    texts = text_files(validate_files(files, required=main))
    try:
        if kind == "commands":
            return check_commands(texts[main], texts)
        return check_compose(texts[main], texts)
    except (CommandRefused, ComposeRefused) as refused:
        raise SubmissionRejected(f"{main}, {refused.message}") from None
