"""State checks of labs: what the learner's commands (or Compose file) left on the daemon, with the evidence.

Each check reads the lab's containers, volumes and networks through `LabRun` (sandbox/labs/runner.py) and
probes them with the grader's own image: a probe container joins a lab container's network namespace (`from`)
or the lab's network (`network`), or mounts a lab volume read-only. The learner's binaries are never used to
judge their own work. Checks that wait for something (`within`) poll until it holds or the time is up.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from sandbox.labs.names import REGISTRY

from .lab_config import config_facts, judge_config
from .outcome import CheckError, Outcome, fail, ok
from .runtime import tail

POLL_SECONDS = 0.5
DEFAULT_WITHIN = {"container-state": 5, "reach": 10, "http": 15, "probe": 15, "healthy": 60, "survives-down-up": 40}
PROBE_SECONDS = 8
# How long a Brief outcome is retried.
BRIEF_SECONDS = 3

# Looks a name up with a time limit: on a user-defined network, Docker's DNS forwards a name it does not
# know to the daemon's own resolvers, which the sandbox cannot reach, so an unknown name takes many seconds to
# fail. A known one is answered at once.
RESOLVE = """\
import json, socket, sys, threading
def resolve(host, seconds=3):
    found = {}
    def look_up():
        try:
            found["address"] = socket.gethostbyname(host)
        except OSError as error:
            found["error"] = str(error)
    thread = threading.Thread(target=look_up, daemon=True)
    thread.start()
    thread.join(seconds)
    return found.get("address"), found.get("error", "Docker's DNS gave no answer within %d s" % seconds)
"""
# Resolves a name and opens a TCP connection, printing what happened as JSON. Run in the probe image.
REACH_SCRIPT = (
    RESOLVE
    + """\
host, port = sys.argv[1], int(sys.argv[2])
address, error = resolve(host)
if address is None:
    print(json.dumps({"resolved": None, "connected": False, "error": error}))
    sys.exit(0)
try:
    socket.create_connection((address, port), timeout=2).close()
    print(json.dumps({"resolved": address, "connected": True, "error": ""}))
except OSError as error:
    print(json.dumps({"resolved": address, "connected": False, "error": str(error)}))
"""
)
# GETs a URL and prints the status on the first line, then the start of the body ("none" and why, if nothing
# answered).
HTTP_SCRIPT = (
    RESOLVE
    + """\
import urllib.error, urllib.parse, urllib.request
url = sys.argv[1]
address, error = resolve(urllib.parse.urlsplit(url).hostname)
if address is None:
    print("none")
    print("the name does not resolve: " + error)
    sys.exit(0)
try:
    response = urllib.request.urlopen(url, timeout=4)
    status, body = response.status, response.read(4096)
except urllib.error.HTTPError as error:
    status, body = error.code, error.read(4096)
except Exception as error:
    print("none")
    print(error)
    sys.exit(0)
print(status)
sys.stdout.flush()
sys.stdout.buffer.write(body)
"""
)
# Reads one file of a volume mounted at /mnt/volume, and lists what the volume holds.
VOLUME_SCRIPT = """\
import json, os, sys
path = "/mnt/volume" + sys.argv[1]
listing = sorted(os.listdir("/mnt/volume"))[:20]
if not os.path.isfile(path):
    print(json.dumps({"exists": False, "listing": listing}))
else:
    with open(path, "rb") as handle:
        content = handle.read(4096).decode("utf-8", "replace")
    print(json.dumps({"exists": True, "content": content, "listing": listing}))
"""


@dataclass
class StateContext:
    """What state checks work with: the running lab, its kind, and the default time limit of a check."""

    lab: Any  # sandbox.labs.runner.LabRun, or a fake in unit tests
    kind: str
    check_seconds: float = 30.0


def target(check: dict) -> tuple[str, str]:
    """(name, words) of the container a check is about: ("web", "the container web") or a service."""
    if "service" in check:
        return check["service"], f"the service {check['service']}"
    return check["container"], f"the container {check['container']}"


def missing(context: StateContext, words: str) -> Outcome:
    names = context.lab.container_names()
    have = f"the lab has {', '.join(names)}" if names else "the lab has no containers"
    return fail(f"{words} does not exist ({have}).")


class Brief(Outcome):
    """An outcome retried only for a moment: a name that does not resolve (Docker's DNS knows a name as soon as
    its container is on the network) or a server that answers, but wrongly. Waiting longer changes nothing."""


class Settled(Outcome):
    """An outcome that waiting cannot change (a container that exited for good): returned at once."""


def wait_until(within: float, attempt):
    """Call attempt() until its outcome passes or `within` seconds are over; the last outcome either way."""
    started = time.monotonic()
    while True:
        outcome = attempt()
        elapsed = time.monotonic() - started
        if outcome.passed or elapsed >= within or isinstance(outcome, Settled):
            return outcome
        if isinstance(outcome, Brief) and elapsed >= BRIEF_SECONDS:
            return outcome
        time.sleep(POLL_SECONDS)


# --- Containers ---------------------------------------------------------------------------------------------


def describe_state(attrs: dict) -> str:
    state = attrs.get("State") or {}
    status = state.get("Status", "unknown")
    words = [status]
    if status in ("exited", "restarting", "dead"):
        words.append(f"exit code {state.get('ExitCode')}")
    if state.get("OOMKilled"):
        words.append("killed for using too much memory (OOMKilled)")
    restarts = attrs.get("RestartCount") or 0
    if restarts:
        words.append(f"restarted {restarts} time{'s' if restarts != 1 else ''}")
    return ", ".join(words)


def judge_state(check: dict, attrs: dict | None, logs: str, words: str) -> Outcome:
    if check.get("status") == "absent":
        if attrs is None:
            return ok(f"{words} does not exist, as expected.")
        return fail(f"{words} still exists ({describe_state(attrs)}).")
    if attrs is None:
        return fail(f"{words} does not exist.")
    state = attrs.get("State") or {}
    problems = []
    if "status" in check and state.get("Status") != check["status"]:
        problems.append(f"expected it {check['status']}")
    if "exit_code" in check and (state.get("Running") or state.get("ExitCode") != check["exit_code"]):
        problems.append(f"expected exit code {check['exit_code']}")
    if "oom_killed" in check and bool(state.get("OOMKilled")) != check["oom_killed"]:
        problems.append("expected it killed for memory" if check["oom_killed"] else "expected no memory kill")
    if "restarts" in check and (attrs.get("RestartCount") or 0) < check["restarts"]:
        problems.append(f"expected at least {check['restarts']} restarts")
    if "logs" in check and not re.search(check["logs"], logs, re.MULTILINE):
        problems.append(f"its output does not match `{check['logs']}`")
    output = f"; its output: {tail(logs, 160)}" if "logs" in check or problems else ""
    if problems:
        return fail(f"{words} is {describe_state(attrs)}: {'; '.join(problems)}{output}.")
    return ok(f"{words} is {describe_state(attrs)}{output}.")


def is_final(attrs: dict) -> bool:
    """True when the container will not change by itself any more: stopped, and no restart policy will act."""
    state = attrs.get("State") or {}
    if state.get("Status") not in ("exited", "dead", "created"):
        return False
    policy = (attrs.get("HostConfig") or {}).get("RestartPolicy") or {}
    name = policy.get("Name") or "no"
    if name == "on-failure":
        limit = policy.get("MaximumRetryCount") or 0
        return state.get("ExitCode") == 0 or (limit > 0 and (attrs.get("RestartCount") or 0) >= limit)
    return name == "no" or state.get("Status") == "created"


def check_container_state(check: dict, context: StateContext) -> Outcome:
    name, words = target(check)

    def attempt() -> Outcome:
        attrs = context.lab.container(name)
        logs = context.lab.logs(attrs) if attrs is not None else ""
        outcome = judge_state(check, attrs, logs, words)
        if not outcome.passed and attrs is not None and is_final(attrs):
            return Settled(outcome.passed, outcome.message)
        return outcome

    outcome = wait_until(check.get("within", DEFAULT_WITHIN["container-state"]), attempt)
    if not outcome.passed and check.get("status") != "absent" and context.lab.container(name) is None:
        return missing(context, words)
    return outcome


def check_container_config(check: dict, context: StateContext) -> Outcome:
    name, words = target(check)
    attrs = context.lab.container(name)
    if attrs is None:
        return missing(context, words)
    return judge_config(check, config_facts(attrs, context.lab.lab_name), words)


def check_healthy(check: dict, context: StateContext) -> Outcome:
    name, words = target(check)
    within = check.get("within", DEFAULT_WITHIN["healthy"])
    started = time.monotonic()
    attrs = None
    while time.monotonic() - started < within:
        attrs = context.lab.container(name)
        if attrs is None:
            return missing(context, words)
        state = attrs.get("State") or {}
        health = state.get("Health")
        if health is None:
            return fail(f"{words} has no health check, so Docker never reports it healthy.")
        if health.get("Status") == "healthy":
            return ok(f"{words} is healthy ({_last_probe(health)}).")
        if not state.get("Running") and not state.get("Restarting"):
            return fail(f"{words} stopped before it became healthy ({describe_state(attrs)}).")
        time.sleep(POLL_SECONDS)
    health = ((attrs or {}).get("State") or {}).get("Health") or {}
    return fail(f"{words} was still {health.get('Status', 'starting')} after {within:g} s ({_last_probe(health)}).")


def _last_probe(health: dict) -> str:
    log = health.get("Log") or []
    if not log:
        return "no health check has finished yet"
    last = log[-1]
    output = tail(last.get("Output") or "", 120)
    return f"the last health check exited with {last.get('ExitCode')}: {output}"


# --- Volumes ------------------------------------------------------------------------------------------------


def check_volume(check: dict, context: StateContext) -> Outcome:
    name = check["volume"]
    if context.lab.volume(name) is None:
        return fail(f"there is no volume named {name}.")
    facts = [f"the volume {name} exists"]
    writer = check.get("after_removing")
    if writer:
        attrs = context.lab.container(writer)
        if attrs is not None:
            return fail(
                f"the volume {name} exists, but the container {writer} is still there ({describe_state(attrs)}); "
                "the point is that the data outlives it."
            )
        facts.append(f"the container {writer} is gone")
    if "file" in check:
        found = read_volume_file(context, name, check["file"])
        holds = ", ".join(found.get("listing") or []) or "nothing"
        if not found.get("exists"):
            return fail(f"{'; '.join(facts)}, but it has no {check['file']} (it holds: {holds}).")
        content = found.get("content", "")
        if "content" in check and not re.search(check["content"], content, re.MULTILINE):
            return fail(f"{'; '.join(facts)}; its {check['file']} holds {tail(content, 120)!r}, not what was asked.")
        facts.append(f"it holds {check['file']}: {tail(content, 120)!r}")
    return ok("; ".join(facts) + ".")


def read_volume_file(context: StateContext, volume: str, path: str) -> dict:
    code, output = context.lab.probe(["python3", "-c", VOLUME_SCRIPT, path], volume=volume, timeout=PROBE_SECONDS)
    try:
        return json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise CheckError(f"the volume could not be read (exit code {code}): {tail(output, 120)}") from None


# --- Probes between containers ---------------------------------------------------------------------------------


def probe_place(check: dict, context: StateContext) -> tuple[dict, str]:
    """The probe's options (a container's namespace or a network) and where it runs, in words."""
    if "network" in check:
        return {"network": check["network"]}, f"from the network {check['network']}"
    words = f"the {'service' if context.kind == 'compose' else 'container'} {check['from']}"
    attrs = context.lab.container(check["from"])
    if attrs is None:
        raise PlaceMissing(missing(context, words))
    if not (attrs.get("State") or {}).get("Running"):
        raise PlaceMissing(fail(f"{words} is not running ({describe_state(attrs)}), so nothing can be tried from it."))
    return {"namespace_of": attrs}, f"from {words}"


class PlaceMissing(Exception):
    """The container a probe should start from is missing or stopped; carries the failed outcome."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


def check_reach(check: dict, context: StateContext) -> Outcome:
    try:
        place, where = probe_place(check, context)
    except PlaceMissing as missing_place:
        return missing_place.outcome
    host, port = check["host"], check["port"]
    reachable = check.get("reachable", True)

    def attempt() -> Outcome:
        code, output = context.lab.probe(
            ["python3", "-c", REACH_SCRIPT, host, str(port)], timeout=PROBE_SECONDS, **place
        )
        try:
            found = json.loads(output.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise CheckError(f"the probe did not answer (exit code {code}): {tail(output, 120)}") from None
        if found["resolved"] is None:
            seen = f"the name {host} does not resolve {where} ({found['error']})"
            if reachable:
                return Brief(False, seen[0].upper() + seen[1:] + ".")
        elif found["connected"]:
            seen = f"{where}, {host} resolves to {found['resolved']} and port {port} accepts connections"
        else:
            seen = f"{where}, {host} resolves to {found['resolved']} but port {port} refuses ({found['error']})"
        return Outcome(found["connected"] == reachable, seen[0].upper() + seen[1:] + ".")

    if not reachable:
        return attempt()
    return wait_until(check.get("within", DEFAULT_WITHIN["reach"]), attempt)


def check_http(check: dict, context: StateContext) -> Outcome:
    try:
        place, where = probe_place(check, context)
    except PlaceMissing as missing_place:
        return missing_place.outcome
    url, want = check["url"], check.get("status", 200)
    started = time.monotonic()

    def attempt() -> Outcome:
        _, output = context.lab.probe(["python3", "-c", HTTP_SCRIPT, url], timeout=PROBE_SECONDS, **place)
        first, _, body = output.partition("\n")
        if not first.strip().isdigit():
            answer = f"GET {url} {where} got no answer: {tail(body or first, 120)}"
            return Brief(False, answer) if "does not resolve" in body else fail(answer)
        status = int(first)
        seconds = time.monotonic() - started
        if status != want:
            return Brief(False, f"GET {url} {where} answered {status}, expected {want}: {tail(body, 120)}")
        if "body" in check and not re.search(check["body"], body):
            return Brief(False, f"GET {url} {where} answered {status}, but the body does not match "
                         f"`{check['body']}`: {tail(body, 120)}")  # fmt: skip
        return ok(f"GET {url} {where} answered {status} after {seconds:.1f} s: {tail(body, 120)}")

    return wait_until(check.get("within", DEFAULT_WITHIN["http"]), attempt)


def run_probe(check: dict, context: StateContext, run: list[str], place: dict, where: str) -> Outcome:
    shown = " ".join(run)
    code, output = context.lab.probe(run, environment=check.get("env"), timeout=PROBE_SECONDS, **place)
    if code is None:
        return fail(f"`{shown}` {where} did not finish in {PROBE_SECONDS} s: {tail(output, 120)}")
    expected = check.get("exit_code", 0)
    if code != expected:
        return fail(f"`{shown}` {where} exited with {code}, expected {expected}: {tail(output, 160)}")
    pattern = check.get("stdout")
    if pattern and not re.search(pattern, output, re.MULTILINE):
        return fail(f"`{shown}` {where} printed {tail(output, 160)!r}, which does not match `{pattern}`")
    return ok(f"`{shown}` {where} printed: {tail(output, 160)}")


def check_probe(check: dict, context: StateContext) -> Outcome:
    try:
        place, where = probe_place(check, context)
    except PlaceMissing as missing_place:
        return missing_place.outcome
    within = check.get("within", DEFAULT_WITHIN["probe"])
    return wait_until(within, lambda: run_probe(check, context, check["run"], place, where))


# --- Compose: data across down and up ------------------------------------------------------------------------


def check_survives_down_up(check: dict, context: StateContext) -> Outcome:
    network = check.get("network", "default")
    place, where = {"network": network}, f"from the network {network}"
    within = check.get("within", DEFAULT_WITHIN["survives-down-up"])
    written = wait_for_service(check, context, place, where, within, check["write"])
    if not written.passed:
        return fail(f"the test data could not be written before `down`: {written.message}")
    down = context.lab.compose(["down"], 60, by_grader=True)
    if not down.ok:
        return fail(f"`docker-compose down` failed: {tail(' '.join(down.tail), 160)}")
    up = context.lab.compose(["up", "--detach", "--no-color"], 120, by_grader=True)
    if not up.ok:
        return fail(f"`docker-compose up` failed after `down`: {tail(' '.join(up.tail), 160)}")
    read = wait_for_service(check, context, place, where, within, check["read"], check["stdout"])
    if not read.passed:
        return fail(f"after `docker-compose down` and `up`, the data written before was gone: {read.message}")
    return ok(f"after `docker-compose down` and `up`, the data was still there: {read.message}")


def wait_for_service(
    check: dict, context: StateContext, place: dict, where: str, within: float, run: list[str], stdout: str = ""
) -> Outcome:
    """Run `run` once the service is ready: after `ready` succeeds (when given), it is tried only briefly."""
    wanted = {**check, "stdout": stdout or None, "exit_code": 0}
    if "ready" in check:
        ready = wait_until(
            within, lambda: run_probe({**check, "stdout": None, "exit_code": 0}, context, check["ready"], place, where)
        )
        if not ready.passed:
            return fail(f"the service was not ready within {within:g} s: {ready.message}")
        within = BRIEF_SECONDS
    return wait_until(within, lambda: run_probe(wanted, context, run, place, where))


# --- The sandbox's registry ---------------------------------------------------------------------------------


def check_registry(check: dict, context: StateContext) -> Outcome:
    """The lab's push reached the registry under that tag; with `image`, the local image came from that push."""
    repository, tag = check["repository"], check["tag"]
    shown = f"{REGISTRY}/{repository}"
    tags = context.lab.registry_tags(repository)
    if tags is None:
        pushed = context.lab.registry_repositories()
        holds = f"it holds {', '.join(pushed)}" if pushed else "nothing was pushed to it"
        return fail(f"the sandbox's registry has no repository {shown} ({holds}).")
    if tag not in tags:
        return fail(f"{shown} has no tag {tag} in the registry (its tags: {', '.join(sorted(tags)) or 'none'}).")
    digest = tags[tag]
    facts = f"{shown}:{tag} is {digest} in the registry"
    if "image" not in check:
        return ok(f"{facts}.")
    attrs = context.lab.image(check["image"])
    if attrs is None:
        return fail(f"{facts}, but there is no local image {check['image']}.")
    digests = attrs.get("RepoDigests") or []
    if f"{shown}@{digest}" not in digests:
        seen = ", ".join(digests) or "none"
        return fail(f"{facts}, but the local image {check['image']} is not that push (its digests: {seen}).")
    return ok(f"{facts}, and the local image {check['image']} is exactly that content ({shown}@{digest}).")


STATE_CHECKS = {
    "registry": check_registry,
    "container-state": check_container_state,
    "container-config": check_container_config,
    "healthy": check_healthy,
    "volume": check_volume,
    "reach": check_reach,
    "http": check_http,
    "probe": check_probe,
    "survives-down-up": check_survives_down_up,
}
