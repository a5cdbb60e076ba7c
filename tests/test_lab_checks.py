"""Lab checks without Docker: the spec rules of labs, the evidence each state check gives, and the lab grader's
order of things (a refused lab runs nothing), with a fake lab in place of the sandbox."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from sandbox.grading.lab import LabGrader
from sandbox.grading.lab_config import config_facts, judge_config, size_bytes
from sandbox.grading.spec import spec_problems
from sandbox.grading.state import StateContext, check_reach, check_volume, is_final, judge_state
from sandbox.labs.runner import LabResult, StepResult


def lab_spec(kind: str = "commands", *checks: dict, **extra) -> dict:
    return {"kind": kind, "checks": [{"id": "runs", "type": "lab-run", "title": "It runs"}, *checks], **extra}


def check(**fields) -> dict:
    return {"id": fields.pop("id", "c"), "title": "A check", **fields}


def inspect(**overrides) -> dict:
    """A container as `docker inspect` shows it, trimmed to what the checks read."""
    attrs = {
        "Id": "abc123",
        "RestartCount": 0,
        "State": {"Status": "running", "Running": True, "ExitCode": 0, "OOMKilled": False},
        "Config": {"Image": "busybox:latest", "User": "", "Env": ["PATH=/bin", "MODE=prod"]},
        "HostConfig": {
            "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
            "Memory": 0,
            "MemorySwap": 0,
            "NanoCpus": 0,
            "PidsLimit": None,
            "PortBindings": {},
            "Tmpfs": None,
        },
        "Mounts": [],
        "NetworkSettings": {"Networks": {"bridge": {}}},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(attrs.get(key), dict):
            attrs[key] = {**attrs[key], **value}
        else:
            attrs[key] = value
    return attrs


# --- The spec --------------------------------------------------------------------------------------------------


def test_a_lab_spec_with_every_kind_of_check_is_valid():
    spec = lab_spec(
        "compose",
        check(id="a", type="container-state", service="web", status="running", logs="ready", within=5),
        check(id="b", type="container-config", service="web", restart="always", memory="64m", cpus=0.5,
              mounts=[{"volume": "data", "target": "/data", "read_only": True}, {"tmpfs": True, "target": "/tmp"}],
              networks=["default"], exactly=True, ports=[{"container": 80, "host": 8080, "ip": "127.0.0.1"}],
              env={"MODE": "prod"}, user="app", pids_limit=10, image="redis:7"),
        check(id="c", type="volume", volume="data", file="/note.txt", content="milk", after_removing="writer"),
        check(id="d", type="reach", **{"from": "web"}, host="db", port=5432, reachable=False),
        check(id="e", type="http", network="default", url="http://web:8000/", status=200, body="ok"),
        check(id="f", type="probe", **{"from": "web"}, run=["redis-cli", "-h", "cache", "ping"], stdout="PONG"),
        check(id="g", type="healthy", service="db", within=30),
        check(id="h", type="survives-down-up", ready=["pg_isready", "-h", "db"], write=["psql", "-c", "x"],
              read=["psql", "-c", "y"], stdout="kept", env={"PGPASSWORD": "x"}),
        limits={"command_seconds": 20, "check_seconds": 10},
    )  # fmt: skip
    assert spec_problems(spec) == []


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (lab_spec("commands", check(type="build")), "checks (build 'c'): a commands lab has no Dockerfile build to "
         "check; use the lab checks"),
        ({"checks": [check(type="volume", volume="v")]}, "checks (volume 'c'): this check is for labs (kind: commands "
         "or compose), not Dockerfiles"),
        (lab_spec("commands", check(type="healthy", service="db")), "checks (healthy 'c'): a commands lab names its "
         "containers with 'container', not 'service'"),
        (lab_spec("compose", check(type="healthy")), "checks (healthy 'c'): 'service' is required"),
        (lab_spec("commands", check(type="survives-down-up", write=["a"], read=["b"], stdout="x")),
         "checks (survives-down-up 'c'): survives-down-up needs a Compose lab"),
        (lab_spec("commands", check(type="reach", host="db", port=1)),
         "checks (reach 'c'): give exactly one of 'from' (a container) and 'network'"),
        (lab_spec("commands", check(type="volume", volume="v", content="x")), "checks (volume 'c'): 'content' needs "
         "'file'"),
        ({"kind": "commands", "checks": [check(type="volume", volume="v")]},
         "checks: a lab needs a 'lab-run' check too, so a lab that could not run is reported as such"),
        (lab_spec("commands", check(type="container-config", container="w", memory="lots")),
         "checks[1] (container-config): 'memory' must be a size such as 64m or 1g (quote it)"),
        (lab_spec("commands", check(type="container-config", container="w", mounts=[{"target": "/x"}])),
         "checks[1] (container-config): 'mounts' item 1 needs exactly one of volume, tmpfs"),
        ({"kind": "shell", "checks": [check(type="lint", rules=["DL3007"])]},
         "'kind' must be one of dockerfile, commands, compose; got 'shell'"),
        ({"checks": [check(type="exec-form")], "limits": {"command_seconds": 5}},
         "limits: unknown key 'command_seconds' (known: check_seconds)"),
    ],
)  # fmt: skip
def test_lab_spec_problems_name_the_check_and_the_rule(spec, problem):
    assert problem in spec_problems(spec)


# --- container-config and container-state ------------------------------------------------------------------------


def test_config_facts_read_docker_inspect_in_the_labs_own_names():
    attrs = inspect(
        HostConfig={
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
            "Memory": 67108864,
            "MemorySwap": 67108864,
            "NanoCpus": 500000000,
            "PidsLimit": 50,
            "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
            "Tmpfs": {"/tmp": ""},
        },
        Mounts=[{"Type": "volume", "Name": "lab7_data", "Destination": "/data", "RW": False}],
        NetworkSettings={"Networks": {"lab7_back": {}, "lab7_front": {}}},
    )
    facts = config_facts(attrs, lambda name: name.removeprefix("lab7_"))
    assert facts["restart"] == "on-failure" and facts["max_retries"] == 3
    assert (facts["memory"], facts["memory_swap"], facts["cpus"], facts["pids_limit"]) == (67108864, 67108864, 0.5, 50)
    assert facts["mounts"] == [
        {"type": "volume", "volume": "data", "target": "/data", "read_only": True},
        {"type": "tmpfs", "volume": "", "target": "/tmp", "read_only": False},
    ]
    assert facts["networks"] == ["back", "front"]
    assert facts["ports"] == [{"container": 80, "protocol": "tcp", "ip": "127.0.0.1", "host": 8080}]
    assert facts["env"]["MODE"] == "prod"
    # A container started without --network is listed on `bridge`, which the sandbox does not have.
    assert config_facts(inspect())["networks"] == []


def test_judge_config_says_what_it_found_and_what_was_expected():
    facts = config_facts(inspect(HostConfig={"PortBindings": {"8080/tcp": [{"HostIp": "", "HostPort": "80"}]}}))
    wanted = {"restart": "on-failure", "max_retries": 3, "memory": "64m", "ports": [{"container": 80, "host": 8080}]}
    outcome = judge_config(wanted, facts, "the container web")
    assert not outcome.passed
    assert outcome.message == (
        "the container web: restart policy no, expected on-failure:3; memory limit none, expected 64 MiB; "
        "publishes 8080/tcp → 0.0.0.0:80; expected container port 80/tcp → 0.0.0.0:8080."
    )
    good = judge_config({"env": {"MODE": "prod"}}, facts, "w")
    assert (good.passed, good.message) == (True, "w: MODE=prod.")
    assert size_bytes("64m") == 64 * 1024 * 1024 and size_bytes("1g") == 1024**3 and size_bytes("512") == 512


def test_judge_state_gives_the_state_and_the_output_as_evidence():
    exited = inspect(State={"Status": "exited", "Running": False, "ExitCode": 1}, RestartCount=2)
    outcome = judge_state({"status": "exited", "exit_code": 0, "logs": "milk"}, exited, "cat: no such file\n", "reader")
    assert (outcome.passed, outcome.message) == (
        False,
        "reader is exited, exit code 1, restarted 2 times: expected exit code 0; its output does not match `milk`; "
        "its output: cat: no such file.",
    )
    gone = judge_state({"status": "absent"}, None, "", "the container writer")
    assert (gone.passed, gone.message) == (True, "the container writer does not exist, as expected.")


@pytest.mark.parametrize(
    ("state", "policy", "restarts", "final"),
    [
        ({"Status": "running"}, "no", 0, False),
        ({"Status": "exited", "ExitCode": 3}, "no", 0, True),
        ({"Status": "exited", "ExitCode": 3}, "always", 5, False),
        ({"Status": "exited", "ExitCode": 3}, "on-failure", 1, False),
        ({"Status": "exited", "ExitCode": 3}, "on-failure", 3, True),
        ({"Status": "exited", "ExitCode": 0}, "on-failure", 0, True),
        ({"Status": "restarting", "ExitCode": 3}, "on-failure", 1, False),
    ],
)
def test_a_container_is_final_only_when_no_restart_policy_will_act(state, policy, restarts, final):
    attrs = inspect(
        State=state, RestartCount=restarts, HostConfig={"RestartPolicy": {"Name": policy, "MaximumRetryCount": 3}}
    )
    assert is_final(attrs) is final


# --- Volume and reach, with a fake lab ---------------------------------------------------------------------------------


class FakeLab:
    """What the state checks and the lab grader use of a LabRun, answering from fixed data."""

    entered = 0

    def __init__(self, env=None, kind="commands", files=None, command_seconds=0, containers=None, probes=None):
        self.kind = kind
        self.containers = containers or {}
        self.volumes = {"notes": {"Name": "notes"}}
        self.probes = list(probes or [])
        self.probed: list[tuple[list[str], dict]] = []
        self.result = LabResult([StepResult(1, "docker volume create notes", 0, 0.1)])

    def __enter__(self):
        FakeLab.entered += 1
        return self

    def __exit__(self, *exc_info):
        return None

    def require_probe_image(self):
        return None

    def run_commands(self, plan):
        return self.result

    def container(self, name):
        return self.containers.get(name)

    def container_names(self):
        return sorted(self.containers)

    def volume(self, name):
        return self.volumes.get(name)

    def lab_name(self, name):
        return name

    def logs(self, attrs):
        return "remember the milk\n"

    def probe(self, command, **options):
        self.probed.append((command, options))
        return self.probes.pop(0)


def test_volume_check_reads_the_file_with_the_probe_and_needs_the_writer_gone():
    lab = FakeLab(probes=[(0, json.dumps({"exists": True, "content": "remember the milk\n", "listing": ["note.txt"]}))])
    context = StateContext(lab, "commands")
    wanted = {"volume": "notes", "file": "/note.txt", "content": "milk", "after_removing": "writer"}
    outcome = check_volume(wanted, context)
    assert (outcome.passed, outcome.message) == (
        True,
        "the volume notes exists; the container writer is gone; it holds /note.txt: 'remember the milk'.",
    )
    command, options = lab.probed[0]
    assert command[:2] == ["python3", "-c"] and command[-1] == "/note.txt" and options["volume"] == "notes"
    lab.containers["writer"] = inspect(State={"Status": "exited", "Running": False, "ExitCode": 0})
    still_there = check_volume(wanted, context)
    assert still_there.message == (
        "the volume notes exists, but the container writer is still there (exited, exit code 0); the point is that the "
        "data outlives it."
    )
    assert check_volume({"volume": "other"}, context).message == "there is no volume named other."


def test_reach_probes_from_the_containers_namespace_and_reports_what_it_saw():
    web = inspect()
    connected = json.dumps({"resolved": "172.18.0.3", "connected": True, "error": ""})
    lab = FakeLab(containers={"web": web}, probes=[(0, connected)])
    outcome = check_reach(
        {"from": "web", "host": "db", "port": 6379, "reachable": False}, StateContext(lab, "commands")
    )
    assert (outcome.passed, outcome.message) == (
        False,
        "From the container web, db resolves to 172.18.0.3 and port 6379 accepts connections.",
    )
    assert lab.probed[0][1] == {"namespace_of": web, "timeout": 8}
    stopped = FakeLab(containers={"web": inspect(State={"Status": "exited", "Running": False, "ExitCode": 2})})
    outcome = check_reach({"from": "web", "host": "db", "port": 1}, StateContext(stopped, "commands"))
    assert outcome.message == "the container web is not running (exited, exit code 2), so nothing can be tried from it."
    assert stopped.probed == []


# --- The lab grader ----------------------------------------------------------------------------------------------------


def exercise(spec: dict):
    return SimpleNamespace(slug="lab", spec=spec, lesson=SimpleNamespace(slug="volumes"))


def test_a_refused_lab_runs_nothing_and_skips_its_state_checks():
    spec = lab_spec("commands", check(id="v", type="volume", volume="notes", section="named-volumes"))
    verdicts = []
    before = FakeLab.entered
    result = LabGrader(
        exercise(spec), {"commands.sh": "docker run --privileged busybox:latest true\n"}, None, verdicts.append, FakeLab
    ).run()
    assert FakeLab.entered == before
    assert [(v["id"], v["status"]) for v in verdicts] == [("runs", "failed"), ("v", "skipped")]
    assert verdicts[0]["message"] == (
        "nothing ran: commands.sh, line 1: docker run: --privileged gives a container every capability and the "
        "machine's devices; it is never allowed in the sandbox"
    )
    assert verdicts[1]["section_url"] == "/lessons/volumes/#named-volumes"
    assert result["passed"] is False and result["score"] == 0
    assert result["message"].startswith("The lab was not run: commands.sh, line 1:")
    assert result["lab"] == {"ran": False, "refused": verdicts[0]["message"].removeprefix("nothing ran: ")}


def test_the_lab_grader_runs_the_lab_then_each_state_check_and_a_broken_check_is_an_error():
    spec = lab_spec(
        "commands",
        check(id="mounted", type="container-config", container="reader", mounts=[{"volume": "notes", "target": "/d"}]),
        check(id="probe", type="probe", **{"from": "reader"}, run=["true"]),
    )
    reader = inspect(Mounts=[{"Type": "volume", "Name": "notes", "Destination": "/d", "RW": True}])
    made = []

    def factory(*args):
        lab = FakeLab(*args, containers={"reader": reader}, probes=[])  # no probe answer: the probe check breaks
        made.append(lab)
        return lab

    verdicts = []
    files = {"commands.sh": "docker volume create notes\ndocker run --name reader -v notes:/d busybox:latest true\n"}
    result = LabGrader(exercise(spec), files, None, verdicts.append, factory).run()
    assert [(v["id"], v["status"]) for v in verdicts] == [("runs", "passed"), ("mounted", "passed"), ("probe", "error")]
    assert verdicts[0]["message"] == "the command ran and succeeded, in 0.1 s."
    assert verdicts[2]["message"] == "could not run this check: an internal error (IndexError)"
    assert result["lab"] == {
        "ran": True,
        "ok": True,
        "steps": [{"line": 1, "command": "docker volume create notes", "exit_code": 0, "seconds": 0.1}],
    }
    assert result["image"] is None and result["build"] is None
