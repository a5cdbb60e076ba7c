"""The command policy: which docker commands a lab may run, checked line by line before anything runs.

Every line of `commands.sh` must be a docker command from an allowlist (`run`, `volume create`, ...), with
flags from that subcommand's allowlist. A line is refused, with its number and the reason, when it would
reach outside the sandbox or outside the lab: host paths and the docker socket in mounts, `--privileged`,
host namespaces, devices, capabilities, security options, an image outside the catalog, or a container,
volume, network or image that no earlier line of the lab created. What a line creates (`--name web`,
`volume create data`, `-v data:/data`, `build -t app`) becomes part of the lab for the lines after it.

`check_commands` returns the plan the runner executes (sandbox/labs/runner.py); `command_problems` lists
every refused line, for the editor's live lint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .commands_tables import (
    ALIASES,
    GROUPS,
    REFUSED_COMMANDS,
    REFUSED_FLAGS,
    SUBCOMMANDS,
    Subcommand,
)
from .flags import FlagError, ParsedArgs, parse_args
from .names import LabNames, Refused, check_label
from .shellwords import CommandLine, CommandRefused, logical_lines, read_commands, split_words

COMMANDS_FILE = "commands.sh"


@dataclass
class LabCommand:
    """One checked command: its line, its text as written, the subcommand path and the words after it."""

    line: int
    text: str
    path: tuple[str, ...]  # as written: ("run",), ("container", "run"), ("volume", "create")
    canonical: str  # the policy's name for it: "run", "volume create"
    args: list[str]
    parsed: ParsedArgs

    @property
    def is_build(self) -> bool:
        return self.canonical == "build"


@dataclass
class CommandPlan:
    """What a lab will run, in order, and every name it creates."""

    commands: list[LabCommand] = field(default_factory=list)
    names: LabNames = field(default_factory=LabNames)


@dataclass
class LineContext:
    """What a subcommand's check may read (the lab so far, the submitted files) and what the line declares."""

    names: LabNames
    # The submission's files; None when only commands.sh is at hand (the live lint), and checks of the files
    # it names are left to the submission.
    files: dict[str, str] | None
    new: LabNames = field(default_factory=LabNames)

    def container(self, name: str) -> None:
        if name not in self.names.containers and name not in self.new.containers:
            raise Refused(
                f"the lab has no container named `{name}`: only containers an earlier line created "
                "(with --name) can be used"
            )

    def volume(self, name: str) -> None:
        if name not in self.names.volumes and name not in self.new.volumes:
            raise Refused(f"the lab has no volume named `{name}`: create it first (docker volume create {name})")

    def network(self, name: str) -> None:
        if name not in self.names.networks:
            raise Refused(f"the lab has no network named `{name}`: create it first (docker network create {name})")

    def image(self, reference: str) -> None:
        problem = self.names.image_allowed(reference)
        if problem:
            raise Refused(problem)

    def any_object(self, name: str) -> None:
        """inspect accepts containers, volumes, networks and images alike."""
        known = self.names.all_names() | self.new.all_names()
        if name in known or not self.names.image_allowed(name):
            return
        raise Refused(
            f"the lab has no container, volume, network or image named `{name}`; only what the lab created "
            "(and the catalog's images) can be inspected"
        )


def command_path(words: list[str]) -> tuple[tuple[str, ...], str, list[str]]:
    """(the path as written, its canonical name, the words after it) of `docker ...` words.

    Raises Refused for anything that is not an allowed docker subcommand.
    """
    if not words or words[0] != "docker":
        first = words[0] if words else ""
        if first in ("docker-compose",):
            raise Refused("Compose is not part of this lab: it runs docker commands only")
        raise Refused(f"only docker commands run in a lab, and `{first}` is not one: start the line with docker")
    if len(words) == 1:
        raise Refused("`docker` alone does nothing: give a subcommand such as docker run")
    first = words[1]
    if first.startswith("-"):
        raise Refused(
            f"options before the subcommand (such as {first}) are not available: the lab always talks to its own "
            "sandbox"
        )
    if first in GROUPS:
        if len(words) < 3 or words[2].startswith("-"):
            raise Refused(f"`docker {first}` needs a subcommand, such as docker {first} {GROUPS[first][0]}")
        path = (first, words[2])
        canonical = ALIASES.get(path, " ".join(path))
        rest = words[3:]
    else:
        path = (first,)
        canonical = ALIASES.get(path, first)
        rest = words[2:]
    shown = " ".join(path)
    if canonical in REFUSED_COMMANDS:
        raise Refused(f"`docker {shown}` is not available in a lab: {REFUSED_COMMANDS[canonical]}")
    if canonical not in SUBCOMMANDS:
        raise Refused(f"`docker {shown}` is not one of the docker commands a lab can run")
    return path, canonical, rest


def check_line(command: CommandLine, names: LabNames, files: dict[str, str] | None) -> LabCommand:
    """Check one command against the policy; returns it ready to run, and adds what it creates to `names`."""
    try:
        path, canonical, rest = command_path(command.words)
        subcommand: Subcommand = SUBCOMMANDS[canonical]
        try:
            parsed = parse_args(rest, subcommand.flags, REFUSED_FLAGS | subcommand.refused)
        except FlagError as error:
            raise Refused(f"docker {' '.join(path)}: {error}") from None
        context = LineContext(names, files)
        for label in parsed.values("--label"):
            check_label(label)
        subcommand.check(context, parsed)
    except Refused as error:
        raise CommandRefused(command.line, str(error), command.text) from None
    names.containers |= context.new.containers
    names.volumes |= context.new.volumes
    names.networks |= context.new.networks
    names.images |= context.new.images
    names.pushed |= context.new.pushed
    return LabCommand(command.line, command.text, path, canonical, rest, parsed)


def check_commands(text: str, files: dict[str, str] | None = None) -> CommandPlan:
    """The plan for commands.sh, or CommandRefused at the first line that may not run."""
    plan = CommandPlan()
    commands = read_commands(text)
    if not commands:
        raise CommandRefused(1, "commands.sh has no commands yet: write one docker command per line")
    for command in commands:
        plan.commands.append(check_line(command, plan.names, files if files is not None else {}))
    return plan


def command_problems(text: str, files: dict[str, str] | None = None) -> list[dict]:
    """Every line the policy refuses, as [{line, message}], for the live lint. Later lines are still checked."""
    problems = []
    names = LabNames()
    for line, joined in logical_lines(text):
        try:
            words = split_words(line, joined)
            if words:
                check_line(CommandLine(line, joined, words), names, files)
        except CommandRefused as refused:
            problems.append({"line": refused.line, "message": refused.reason})
    return problems
