"""The `container-config` check: a container's settings (restart policy, limits, user, environment, mounts,
networks, published ports), read from `docker inspect` and compared with the check, with the evidence in words.

`config_facts` turns an inspect result into plain facts; `judge_config` compares facts with a check. The two
are apart so the same comparison can judge facts read from somewhere else (the mock interview's static
preview reads them from the learner's text).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .outcome import Outcome

UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def size_bytes(text: str) -> int:
    """Docker's sizes: `64m` is 64 MiB (binary units, like `docker run --memory`)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([bkmg]?)", text.strip().lower())
    if not match:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * UNITS[match.group(2) or "b"])


def shown_size(size: int | None) -> str:
    if not size or size < 0:
        return "none"
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def config_facts(attrs: dict, lab_name: Callable[[str], str] = lambda name: name) -> dict[str, Any]:
    """A container's settings from `docker inspect`, with volume and network names as the lab wrote them."""
    host = attrs.get("HostConfig") or {}
    config = attrs.get("Config") or {}
    policy = host.get("RestartPolicy") or {}
    mounts = [
        {
            "type": mount.get("Type"),
            "volume": lab_name(mount.get("Name", "")) if mount.get("Type") == "volume" else "",
            "target": mount.get("Destination", ""),
            "read_only": not mount.get("RW", True),
        }
        for mount in attrs.get("Mounts") or []
    ]
    mounts += [{"type": "tmpfs", "volume": "", "target": path, "read_only": False} for path in host.get("Tmpfs") or {}]
    ports = []
    for key, bindings in sorted((host.get("PortBindings") or {}).items()):
        port, _, protocol = key.partition("/")
        for binding in bindings or []:
            ports.append(
                {
                    "container": int(port),
                    "protocol": protocol or "tcp",
                    "ip": binding.get("HostIp") or "",
                    "host": int(binding["HostPort"]) if str(binding.get("HostPort") or "").isdigit() else None,
                }
            )
    nano = host.get("NanoCpus") or 0
    quota, period = host.get("CpuQuota") or 0, host.get("CpuPeriod") or 0
    return {
        "image": config.get("Image", ""),
        "restart": policy.get("Name") or "no",
        "max_retries": policy.get("MaximumRetryCount") or 0,
        "memory": host.get("Memory") or 0,
        "memory_swap": host.get("MemorySwap") or 0,
        "cpus": nano / 1e9 if nano else (quota / period if quota > 0 and period else 0),
        "pids_limit": host.get("PidsLimit") if (host.get("PidsLimit") or 0) > 0 else 0,
        "user": config.get("User") or "",
        "env": dict(item.split("=", 1) if "=" in item else (item, "") for item in config.get("Env") or []),
        "mounts": mounts,
        # A container started without --network is listed on `bridge`, which the sandbox daemon does not have
        # (--bridge=none): it has loopback only, so it is on no network at all.
        "networks": sorted(
            lab_name(name) for name in ((attrs.get("NetworkSettings") or {}).get("Networks") or {}) if name != "bridge"
        ),
        "ports": ports,
    }


def _restart(check: dict, facts: dict) -> tuple[bool, str]:
    shown = facts["restart"] + (f":{facts['max_retries']}" if facts["restart"] == "on-failure" else "")
    wanted = check.get("restart", facts["restart"])
    good = facts["restart"] == wanted and check.get("max_retries", facts["max_retries"]) == facts["max_retries"]
    expected = wanted + (f":{check['max_retries']}" if "max_retries" in check else "")
    return good, f"restart policy {shown}" + ("" if good else f", expected {expected}")


def _size(key: str, words: str) -> Callable[[dict, dict], tuple[bool, str]]:
    def judge(check: dict, facts: dict) -> tuple[bool, str]:
        wanted = size_bytes(check[key])
        good = facts[key] == wanted
        return good, f"{words} {shown_size(facts[key])}" + ("" if good else f", expected {shown_size(wanted)}")

    return judge


def _cpus(check: dict, facts: dict) -> tuple[bool, str]:
    good = abs(facts["cpus"] - float(check["cpus"])) < 1e-6
    shown = f"{facts['cpus']:g}" if facts["cpus"] else "no limit"
    return good, f"CPUs {shown}" + ("" if good else f", expected {check['cpus']:g}")


def _pids(check: dict, facts: dict) -> tuple[bool, str]:
    good = facts["pids_limit"] == check["pids_limit"]
    shown = facts["pids_limit"] or "no limit"
    return good, f"process limit {shown}" + ("" if good else f", expected {check['pids_limit']}")


def _user(check: dict, facts: dict) -> tuple[bool, str]:
    good = facts["user"] == check["user"]
    return good, f"user {facts['user'] or 'root (not set)'}" + ("" if good else f", expected {check['user']}")


def _image(check: dict, facts: dict) -> tuple[bool, str]:
    wanted = check["image"]
    good = facts["image"] == wanted or facts["image"] == f"{wanted}:latest"
    return good, f"image {facts['image']}" + ("" if good else f", expected {wanted}")


def _env(check: dict, facts: dict) -> tuple[bool, str]:
    for name, pattern in check["env"].items():
        if name not in facts["env"]:
            return False, f"{name} is not set"
        if not re.fullmatch(pattern, facts["env"][name]):
            return False, f"{name}={facts['env'][name]!r}, which is not what this exercise expects"
    return True, ", ".join(f"{name}={facts['env'][name]}" for name in check["env"])


def _mount_text(mount: dict) -> str:
    anonymous = not mount["volume"] or re.fullmatch(r"[0-9a-f]{64}", mount["volume"])
    if mount["type"] == "volume":
        source = "an anonymous volume" if anonymous else f"volume {mount['volume']}"
    else:
        source = mount["type"]
    return f"{source} at {mount['target']}" + (" (read-only)" if mount["read_only"] else "")


def _mounts(check: dict, facts: dict) -> tuple[bool, str]:
    shown = ", ".join(_mount_text(mount) for mount in facts["mounts"]) or "no volumes"
    for wanted in check["mounts"]:
        kind = "tmpfs" if wanted.get("tmpfs") else "volume"
        found = [
            mount
            for mount in facts["mounts"]
            if mount["type"] == kind and mount["target"].rstrip("/") == wanted["target"].rstrip("/")
            and (kind == "tmpfs" or mount["volume"] == wanted["volume"])
        ]  # fmt: skip
        expected = _mount_text({"type": kind, "volume": wanted.get("volume", ""), **wanted, "read_only": False})
        if not found:
            return False, f"mounts {shown}; expected {expected}"
        if "read_only" in wanted and found[0]["read_only"] != wanted["read_only"]:
            words = "read-only" if wanted["read_only"] else "writable"
            return False, f"mounts {shown}; expected {expected}, {words}"
    return True, f"mounts {shown}"


def _networks(check: dict, facts: dict) -> tuple[bool, str]:
    have = set(facts["networks"])
    wanted = set(check["networks"])
    shown = f"networks {', '.join(facts['networks'])}" if facts["networks"] else "no networks"
    if not wanted <= have:
        return False, f"{shown}; expected it on {', '.join(sorted(wanted - have))}"
    if check.get("exactly") and have != wanted:
        return False, f"{shown}; expected only {', '.join(sorted(wanted))}"
    return True, shown


def _port_text(port: dict) -> str:
    host = f"{port['ip'] or '0.0.0.0'}:{port['host']}" if port.get("host") else "a random host port"
    return f"{port['container']}/{port['protocol']} → {host}"


def _ports(check: dict, facts: dict) -> tuple[bool, str]:
    shown = ", ".join(_port_text(port) for port in facts["ports"]) or "no published ports"
    for wanted in check["ports"]:
        protocol = wanted.get("protocol", "tcp")
        found = [
            port
            for port in facts["ports"]
            if port["container"] == wanted["container"] and port["protocol"] == protocol
            and ("host" not in wanted or port["host"] == wanted["host"])
            and ("ip" not in wanted or (port["ip"] or "0.0.0.0") == wanted["ip"])
        ]  # fmt: skip
        if not found:
            expected = _port_text(
                {"ip": wanted.get("ip", ""), "host": wanted.get("host"), **wanted, "protocol": protocol}
            )
            return False, f"publishes {shown}; expected container port {expected}"
    return True, f"publishes {shown}"


JUDGES: dict[str, Callable[[dict, dict], tuple[bool, str]]] = {
    "image": _image,
    "restart": _restart,
    "memory": _size("memory", "memory limit"),
    "memory_swap": _size("memory_swap", "memory+swap limit"),
    "cpus": _cpus,
    "pids_limit": _pids,
    "user": _user,
    "env": _env,
    "mounts": _mounts,
    "networks": _networks,
    "ports": _ports,
}


def judge_config(check: dict, facts: dict, what: str) -> Outcome:
    """Compare a container's facts with a container-config check; the message lists what was found."""
    found = []
    if "max_retries" in check and "restart" not in check:
        check = {**check, "restart": "on-failure"}
    for key, judge in JUDGES.items():
        if key in check:
            found.append(judge(check, facts))
    bad = [words for good, words in found if not good]
    if bad:
        return Outcome(False, f"{what}: " + "; ".join(bad) + ".")
    return Outcome(True, f"{what}: " + "; ".join(words for _, words in found) + ".")
