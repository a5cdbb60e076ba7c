"""A lab judged without running it: the settings its containers would get, read from the learner's text.

The mock interview grades a visitor's lab statically (no sandbox without an account). Of a lab's checks, only
`container-config` and `commands-used` can be judged that way: the restart policy, limits, user, environment, mounts, networks
and published ports follow from `commands.sh` (its `run`/`create` flags, `network connect`, `update`,
`rename`) or from a service in `compose.yaml`. The facts have the shape of lab_config.config_facts, so the
same comparison judges them; `commands-used` reads which commands the text runs. Everything else (state, probes, health) needs the sandbox.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.labs.commands import CommandPlan
from sandbox.labs.compose import ComposePlan

from .lab_config import judge_config, size_bytes
from .lab_used import check_commands_used
from .outcome import Outcome

PORT = re.compile(r"^(?:(?P<ip>\d+\.\d+\.\d+\.\d+):)?(?:(?P<host>\d*):)?(?P<container>\d+)(?:/(?P<protocol>tcp|udp))?$")


def empty_facts(image: str = "") -> dict[str, Any]:
    return {
        "image": image, "restart": "no", "max_retries": 0, "memory": 0, "memory_swap": 0, "cpus": 0,
        "pids_limit": 0, "user": "", "env": {}, "mounts": [], "networks": [], "ports": [],
    }  # fmt: skip


def port_fact(text: str) -> dict | None:
    match = PORT.match(str(text).strip())
    if not match:
        return None
    host = match.group("host")
    return {
        "container": int(match.group("container")),
        "protocol": match.group("protocol") or "tcp",
        "ip": match.group("ip") or "",
        "host": int(host) if host else None,
    }


def volume_fact(text: str) -> dict:
    parts = str(text).split(":")
    if len(parts) == 1:
        return {"type": "volume", "volume": "", "target": parts[0], "read_only": False}
    options = parts[2].split(",") if len(parts) > 2 else []
    return {"type": "volume", "volume": parts[0], "target": parts[1], "read_only": "ro" in options}


def restart_fact(facts: dict, value: str) -> None:
    name, _, retries = str(value).partition(":")
    facts["restart"] = name or "no"
    facts["max_retries"] = int(retries) if retries.isdigit() else 0


def limit_fact(facts: dict, flag: str, value: str) -> None:
    """The limits `run`, `create` and `update` share."""
    if flag == "--restart":
        restart_fact(facts, value)
    elif flag == "--memory":
        facts["memory"] = size_bytes(value)
    elif flag == "--memory-swap":
        facts["memory_swap"] = -1 if value == "-1" else size_bytes(value)
    elif flag == "--cpus":
        facts["cpus"] = float(value)
    elif flag == "--pids-limit":
        facts["pids_limit"] = int(value)


def command_facts(plan: CommandPlan, files: dict[str, str]) -> dict[str, dict]:
    """The settings of each named container, following the lab's commands in order."""
    containers: dict[str, dict] = {}
    for command in plan.commands:
        parsed = command.parsed
        if command.canonical in ("run", "create"):
            facts = empty_facts(parsed.arguments[0] if parsed.arguments else "")
            name = ""
            for flag, value in parsed.flags:
                name = value if flag == "--name" else name
                run_flag_fact(facts, flag, value, files)
            if name:
                containers[name] = facts
        elif command.canonical == "update":
            for target in parsed.arguments:
                for flag, value in parsed.flags:
                    if target in containers:
                        limit_fact(containers[target], flag, value)
        elif command.canonical == "network connect" and parsed.arguments[1] in containers:
            containers[parsed.arguments[1]]["networks"].append(parsed.arguments[0])
        elif command.canonical == "network disconnect" and parsed.arguments[1] in containers:
            networks = containers[parsed.arguments[1]]["networks"]
            containers[parsed.arguments[1]]["networks"] = [n for n in networks if n != parsed.arguments[0]]
        elif command.canonical == "rename" and parsed.arguments[0] in containers:
            containers[parsed.arguments[1]] = containers.pop(parsed.arguments[0])
        elif command.canonical == "rm":
            for target in parsed.arguments:
                containers.pop(target, None)
    return containers


def run_flag_fact(facts: dict, flag: str, value: str, files: dict[str, str]) -> None:
    if flag in ("--network", "--net"):
        facts["networks"] = [] if value == "none" or value.startswith("container:") else [value]
    elif flag == "--env":
        name, _, text = value.partition("=")
        facts["env"][name] = text
    elif flag == "--env-file":
        for line in files.get(value, "").splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                name, _, text = line.partition("=")
                facts["env"][name.strip()] = text
    elif flag == "--user":
        facts["user"] = value
    elif flag == "--volume":
        facts["mounts"].append(volume_fact(value))
    elif flag == "--mount":
        options = dict(item.partition("=")[::2] for item in value.split(","))
        kind = options.get("type", "volume")
        target = options.get("target") or options.get("destination") or options.get("dst") or ""
        source = options.get("source") or options.get("src") or ""
        read_only = "readonly" in options or "ro" in options
        facts["mounts"].append({"type": kind, "volume": source, "target": target, "read_only": read_only})
    elif flag == "--tmpfs":
        facts["mounts"].append({"type": "tmpfs", "volume": "", "target": value.split(":")[0], "read_only": False})
    elif flag == "--publish":
        port = port_fact(value)
        if port:
            facts["ports"].append(port)
    else:
        limit_fact(facts, flag, value)


def compose_facts(plan: ComposePlan) -> dict[str, dict]:
    """The settings of each service's container, from compose.yaml."""
    services = {}
    for name, service in (plan.data.get("services") or {}).items():
        if not isinstance(service, dict):
            continue
        facts = empty_facts(str(service.get("image", "")))
        restart_fact(facts, service.get("restart", "no"))
        for key, fact in (("mem_limit", "memory"), ("memswap_limit", "memory_swap")):
            if key in service:
                facts[fact] = size_bytes(str(service[key]))
        facts["cpus"] = float(service.get("cpus", 0) or 0)
        facts["pids_limit"] = int(service.get("pids_limit", 0) or 0)
        facts["user"] = str(service.get("user", ""))
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(str(item).partition("=")[::2] for item in environment)
        facts["env"] = {str(k): "" if v is None else str(v) for k, v in environment.items()}
        for entry in service.get("volumes") or []:
            if isinstance(entry, dict):
                read_only = bool(entry.get("read_only"))
                facts["mounts"].append({"type": entry.get("type", "volume"), "volume": str(entry.get("source", "")),
                                        "target": str(entry.get("target", "")), "read_only": read_only})  # fmt: skip
            else:
                facts["mounts"].append(volume_fact(entry))
        tmpfs = service.get("tmpfs") or []
        for target in [tmpfs] if isinstance(tmpfs, str) else tmpfs:
            facts["mounts"].append({"type": "tmpfs", "volume": "", "target": str(target), "read_only": False})
        networks = service.get("networks")
        if service.get("network_mode"):
            facts["networks"] = []
        else:
            facts["networks"] = sorted(networks or ["default"])
        for entry in service.get("ports") or []:
            port = compose_port(entry)
            if port:
                facts["ports"].append(port)
        services[str(name)] = facts
    return services


def compose_port(entry: object) -> dict | None:
    if isinstance(entry, dict):
        return {
            "container": int(entry.get("target", 0)),
            "protocol": str(entry.get("protocol", "tcp")),
            "ip": str(entry.get("host_ip", "")),
            "host": int(entry["published"]) if str(entry.get("published", "")).isdigit() else None,
        }
    return port_fact(str(entry))


def preview_verdicts(spec: dict, kind: str, plan: Any, files: dict[str, str]) -> tuple[list[tuple[dict, Outcome]], int]:
    """(check, outcome) for each check judged from the text, and how many checks only the sandbox can judge."""
    facts = compose_facts(plan) if kind == "compose" else command_facts(plan, files)
    judged, left = [], 0
    for check in spec.get("checks") or []:
        if isinstance(check, dict) and check.get("type") == "commands-used" and kind == "commands":
            judged.append((check, check_commands_used(check, plan, None)))
            continue
        if not isinstance(check, dict) or check.get("type") != "container-config":
            left += 1 if isinstance(check, dict) and check.get("type") != "lab-run" else 0
            continue
        name = check.get("service") or check.get("container")
        what = f"the {'service' if kind == 'compose' else 'container'} {name}"
        if name not in facts:
            judged.append((check, Outcome(False, f"{what} is not in your lab.")))
            continue
        try:
            judged.append((check, judge_config(check, facts[name], what)))
        except (ValueError, TypeError):
            judged.append((check, Outcome(False, f"{what}: a setting could not be read.")))
    return judged, left
