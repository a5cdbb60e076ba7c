"""Checks of the docker commands that reach past one named object: events, prune, system df, push and pull.

On a terminal these see the whole daemon (and a registry). In a lab each is held to the lab's own things:

- `docker events` and the `prune` commands get `--filter label=dockyard.submission=<id>` from the runner
  (sandbox/labs/runner.py). Docker combines filters of different keys, and several `label` filters, with AND,
  so a learner's own filters can only narrow what the lab's label already allows.
- `push` and `pull` reach only the sandbox's own registry (`localhost:5000`, sandbox/registry.py), which holds
  nothing but this lab's repositories: it is emptied before and after every lab, and a daemon runs one lab at
  a time. The policy still lets a lab push only images it tagged and pull only repositories it pushed.
"""

from __future__ import annotations

from typing import Any

from .flags import ParsedArgs
from .names import REGISTRY, Refused, check_label, check_registry_name, registry_repository

Context = Any  # commands.LineContext (not imported: that module imports the tables, which import this one)

NO_CONFIRMATION = "prune asks for a confirmation and there is no terminal to answer it: add --force (-f)"
WHOLE_DAEMON = "it works on the whole daemon, not on your lab"
# `--filter` keys each command accepts (Docker's own lists, less those that would only mislead here).
EVENT_FILTERS = {"container", "event", "type", "label", "image", "volume", "network"}
PRUNE_FILTERS = {"until", "label", "label!"}


def check_filters(parsed: ParsedArgs, allowed: set[str], command: str) -> None:
    for value in parsed.values("--filter"):
        key, equals, _ = value.partition("=")
        if not equals or key not in allowed:
            raise Refused(f"{command} --filter takes KEY=VALUE with KEY one of {', '.join(sorted(allowed))}")
        if key.startswith("label"):
            check_label(value.partition("=")[2])


def check_events(context: Context, parsed: ParsedArgs) -> None:
    """`docker events` ends only with --until; the runner limits it to the lab's own objects."""
    if parsed.arguments:
        raise Refused("docker events takes no names; narrow it with --filter container=NAME")
    if not parsed.values("--until"):
        raise Refused(
            "docker events without --until waits for new events forever: give the time span, such as "
            "--since 1m --until 0s"
        )
    check_filters(parsed, EVENT_FILTERS, "docker events")
    for value in parsed.values("--filter"):
        key, _, name = value.partition("=")
        if key == "container":
            context.container(name)


def check_prune(context: Context, parsed: ParsedArgs) -> None:
    """`docker container|image|volume|network prune --force`: the runner limits it to what the lab made."""
    if parsed.arguments:
        raise Refused("prune takes no names; it removes what is unused (narrow it with --filter)")
    if not parsed.has("--force"):
        raise Refused(NO_CONFIRMATION)
    check_filters(parsed, PRUNE_FILTERS, "prune")


def check_system_df(context: Context, parsed: ParsedArgs) -> None:
    if parsed.arguments:
        raise Refused("docker system df takes no names")


def registry_argument(parsed: ParsedArgs, verb: str, elsewhere: str) -> str:
    """The one image a push or pull names, which must be in the sandbox's registry."""
    if len(parsed.arguments) != 1:
        raise Refused(f"docker {verb} takes one image, such as docker {verb} {REGISTRY}/shop/web:1.0")
    reference = parsed.arguments[0]
    if not reference.startswith(f"{REGISTRY}/"):
        raise Refused(f"`{reference}` would {elsewhere.format(reference=reference, last=reference.split('/')[-1])}")
    return reference


def check_push(context: Context, parsed: ParsedArgs) -> None:
    reference = registry_argument(
        parsed,
        "push",
        "go to Docker Hub, which the sandbox cannot reach: tag it for the sandbox's registry first "
        f"(docker tag {{reference}} {REGISTRY}/{{last}}) and push that",
    )
    if check_registry_name(reference) not in context.names.images:
        raise Refused(f"the lab has no image named `{reference}`: tag one first (docker tag IMAGE {reference})")
    context.new.pushed.add(registry_repository(reference))


def check_pull(context: Context, parsed: ParsedArgs) -> None:
    reference = registry_argument(
        parsed,
        "pull",
        "come from Docker Hub, which the sandbox cannot reach; its images are already there (and a lab can pull "
        f"from its own registry, {REGISTRY})",
    )
    name = check_registry_name(reference, digest_allowed=True)
    repository = registry_repository(reference)
    if repository not in context.names.pushed:
        raise Refused(f"the lab pushed nothing to {repository}: push to it first (docker push {repository}:TAG)")
    context.new.images.add(name)
