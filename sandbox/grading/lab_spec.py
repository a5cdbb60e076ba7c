"""The checks of labs (`kind: commands` and `kind: compose`): their fields and the rules across a lab's spec.

sandbox/grading/spec.py registers these types beside the Dockerfile ones, so loadlessons validates a lab's
exercise.yaml the same way. See README.md in this folder for what each check does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.labs.commands_tables import SUBCOMMANDS

LAB = "lab"  # the lab's commands (or `docker-compose up`) ran
STATE = "state"  # the state they left: containers, volumes, networks, answers to probes
LAB_KINDS = ("commands", "compose")
LAB_LIMIT_FIELDS = {"command_seconds"}
# The key that names a check's container, by kind: a container name, or a Compose service.
TARGET_KEY = {"commands": "container", "compose": "service"}
STATUSES = ("created", "running", "exited", "restarting", "paused", "absent")
RESTART_POLICIES = ("no", "on-failure", "always", "unless-stopped")
SIZE = re.compile(r"^\d+(\.\d+)?[bkmg]?$", re.IGNORECASE)
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")

Validator = Callable[[object], str]


@dataclass
class LabCheckType:
    phase: str
    fields: dict[str, tuple[Validator, bool]] = field(default_factory=dict)
    one_of: tuple[str, ...] = ()
    # One of these keys must name the container the check is about (container or service, by kind).
    targeted: bool = False


def _int(value: object) -> str:
    return "" if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else "must be a whole number"


def _number(value: object) -> str:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    return "" if ok else "must be a number"


def _bool(value: object) -> str:
    return "" if isinstance(value, bool) else "must be true or false"


def _text(value: object) -> str:
    return "" if isinstance(value, str) and value.strip() else "must be text"


def _name(value: object) -> str:
    return "" if isinstance(value, str) and NAME.match(value) else "must be a container, volume or network name"


def _port(value: object) -> str:
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
    return "" if ok else "must be a port number (1-65535)"


def _regex(value: object) -> str:
    if not isinstance(value, str) or not value:
        return "must be a regular expression (text)"
    try:
        re.compile(value)
    except re.error as error:
        return f"is not a valid regular expression: {error}"
    return ""


def _absolute(value: object) -> str:
    return (
        ""
        if isinstance(value, str) and value.startswith("/") and ".." not in value.split("/")
        else ("must be an absolute path such as /data/note.txt")
    )


def _size(value: object) -> str:
    return "" if isinstance(value, str) and SIZE.match(value) else "must be a size such as 64m or 1g (quote it)"


def _one_of(choices: tuple[str, ...]) -> Validator:
    return lambda value: "" if value in choices else f"must be one of {', '.join(choices)}"


def _argv(value: object) -> str:
    if isinstance(value, list) and value and all(isinstance(part, str) for part in value):
        return ""
    return "must be a list of arguments, such as [redis-cli, -h, cache, ping]"


def _str_map(value: object) -> str:
    if isinstance(value, dict) and value and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return ""
    return "must map names to text values (quote numbers)"


def _env_map(value: object) -> str:
    if not isinstance(value, dict) or not value:
        return "must map variable names to regular expressions their value must match"
    for name, pattern in value.items():
        problem = _regex(pattern)
        if not isinstance(name, str) or problem:
            return f"entry '{name}' {problem or 'must be a variable name'}"
    return ""


def _url(value: object) -> str:
    ok = isinstance(value, str) and value.startswith("http://") and " " not in value
    return "" if ok else "must be an http:// URL such as http://web:8000/"


def _list_of(item: Validator, what: str) -> Validator:
    def check(value: object) -> str:
        if not isinstance(value, list) or not value:
            return f"must be a non-empty list of {what}"
        for index, entry in enumerate(value):
            problem = item(entry)
            if problem:
                return f"item {index + 1} {problem}"
        return ""

    return check


def _mapping(fields: dict[str, tuple[Validator, bool]], one_of: tuple[str, ...] = ()) -> Validator:
    def check(value: object) -> str:
        if not isinstance(value, dict):
            return f"must be a mapping with {', '.join(fields)}"
        unknown = set(value) - set(fields)
        if unknown:
            return f"has unknown keys {', '.join(sorted(map(str, unknown)))}"
        for key, (validate, required) in fields.items():
            if key not in value:
                if required:
                    return f"needs '{key}'"
                continue
            problem = validate(value[key])
            if problem:
                return f"'{key}' {problem}"
        if one_of and sum(key in value for key in one_of) != 1:
            return f"needs exactly one of {', '.join(one_of)}"
        return ""

    return check


MOUNT = _mapping(
    {"volume": (_name, False), "tmpfs": (_bool, False), "target": (_absolute, True), "read_only": (_bool, False)},
    one_of=("volume", "tmpfs"),
)
PORT = _mapping(
    {
        "container": (_port, True),
        "host": (_port, False),
        "ip": (_text, False),
        "protocol": (_one_of(("tcp", "udp")), False),
    }
)
TARGET = {"container": (_name, False), "service": (_name, False)}
PLACE = {"from": (_name, False), "network": (_name, False)}  # where a probe runs: a container's namespace or a network

CONFIG_FIELDS = {
    "image": (_text, False),
    "restart": (_one_of(RESTART_POLICIES), False),
    "max_retries": (_int, False),
    "memory": (_size, False),
    "memory_swap": (_size, False),
    "cpus": (_number, False),
    "pids_limit": (_int, False),
    "user": (_text, False),
    "env": (_env_map, False),
    "mounts": (_list_of(MOUNT, "mounts"), False),
    "networks": (_list_of(_name, "network names"), False),
    "exactly": (_bool, False),
    "ports": (_list_of(PORT, "published ports"), False),
}
STATE_FIELDS = {
    "status": (_one_of(STATUSES), False),
    "exit_code": (_int, False),
    "oom_killed": (_bool, False),
    "restarts": (_int, False),
    "logs": (_regex, False),
    "within": (_number, False),
}


def _repository(value: object) -> str:
    ok = isinstance(value, str) and re.fullmatch(
        r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*){0,2}", value
    )
    return "" if ok else "must be a repository of the sandbox's registry without its host, such as shop/web"


def _subcommands(value: object) -> str:
    # The policy's names for the commands (sandbox/labs/commands_tables.py): `logs`, `inspect`, `volume ls`.
    known = set(SUBCOMMANDS)
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        return "must be a list of docker subcommands, such as [logs, inspect]"
    unknown = [item for item in value if item not in known]
    return f"names {unknown[0]!r}, which is not a docker command a lab can run" if unknown else ""


LAB_CHECK_TYPES: dict[str, LabCheckType] = {
    "lab-run": LabCheckType(LAB),
    "commands-used": LabCheckType(LAB, {"commands": (_subcommands, True), "container": (_name, False)}),
    "container-state": LabCheckType(
        STATE, TARGET | STATE_FIELDS, one_of=("status", "exit_code", "oom_killed", "restarts", "logs"), targeted=True
    ),
    "container-config": LabCheckType(
        STATE, TARGET | CONFIG_FIELDS, one_of=tuple(k for k in CONFIG_FIELDS if k != "exactly"), targeted=True
    ),
    "volume": LabCheckType(
        STATE,
        {
            "volume": (_name, True),
            "file": (_absolute, False),
            "content": (_regex, False),
            "after_removing": (_name, False),
        },
    ),
    "reach": LabCheckType(
        STATE,
        PLACE | {"host": (_name, True), "port": (_port, True), "reachable": (_bool, False), "within": (_number, False)},
    ),
    "http": LabCheckType(
        STATE,
        PLACE | {"url": (_url, True), "status": (_int, False), "body": (_regex, False), "within": (_number, False)},
    ),
    "probe": LabCheckType(
        STATE,
        PLACE
        | {
            "run": (_argv, True),
            "env": (_str_map, False),
            "exit_code": (_int, False),
            "stdout": (_regex, False),
            "within": (_number, False),
        },
    ),
    "healthy": LabCheckType(STATE, TARGET | {"within": (_number, False)}, targeted=True),
    "registry": LabCheckType(STATE, {"repository": (_repository, True), "tag": (_text, True), "image": (_text, False)}),
    "survives-down-up": LabCheckType(
        STATE,
        {
            "network": (_name, False),
            "ready": (_argv, False),
            "write": (_argv, True),
            "read": (_argv, True),
            "stdout": (_regex, True),
            "env": (_str_map, False),
            "within": (_number, False),
        },
    ),
}


def lab_problems(spec: dict, checks: list[dict]) -> list[str]:
    """Rules across a spec that involve labs: which checks fit which kind, and what each lab check names.

    `checks` are the spec's checks that are otherwise valid (known type, fields fine).
    """
    kind = spec.get("kind", "dockerfile")
    problems = []
    for check in checks:
        lab_check = check["type"] in LAB_CHECK_TYPES
        where = f"checks ({check['type']} '{check['id']}')"
        if kind not in LAB_KINDS:
            if lab_check:
                problems.append(f"{where}: this check is for labs (kind: commands or compose), not Dockerfiles")
            continue
        if not lab_check:
            problems.append(f"{where}: a {kind} lab has no Dockerfile build to check; use the lab checks")
            continue
        problems += _target_problems(kind, check, where)
        if check["type"] in ("survives-down-up",) and kind != "compose":
            problems.append(f"{where}: survives-down-up needs a Compose lab")
        if check["type"] in ("commands-used", "registry") and kind != "commands":
            problems.append(f"{where}: {check['type']} needs a command lab (kind: commands)")
        if check["type"] in ("reach", "http", "probe") and sum(key in check for key in PLACE) != 1:
            problems.append(f"{where}: give exactly one of 'from' (a {TARGET_KEY[kind]}) and 'network'")
        if check["type"] == "volume" and "content" in check and "file" not in check:
            problems.append(f"{where}: 'content' needs 'file'")
    if kind in LAB_KINDS:
        types = {check["type"] for check in checks}
        if types - {"lab-run"} and "lab-run" not in types:
            problems.append(
                "checks: a lab needs a 'lab-run' check too, so a lab that could not run is reported as such"
            )
    return problems


def _target_problems(kind: str, check: dict, where: str) -> list[str]:
    if check["type"] == "commands-used":
        return []  # its optional `container` narrows which commands count; it is checked with the kind above
    if not LAB_CHECK_TYPES[check["type"]].targeted:
        if "container" in check or "service" in check:
            return [f"{where}: this check takes no container or service"]
        return []
    wanted = TARGET_KEY[kind]
    other = TARGET_KEY["compose" if kind == "commands" else "commands"]
    if other in check:
        return [f"{where}: a {kind} lab names its containers with '{wanted}', not '{other}'"]
    if wanted not in check:
        return [f"{where}: '{wanted}' is required"]
    return []
