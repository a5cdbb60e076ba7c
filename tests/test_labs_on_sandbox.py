"""Labs through a real sandbox daemon: solutions pass and starters fail, what a lab makes is labelled and
limited, a command that hangs is stopped, and nothing a lab made is left on the daemon afterwards.

`manage.py validate_content` (run by CI) grades every lab's solution and starter; these tests cover the
runner's promises that validate_content cannot see.
"""

from __future__ import annotations

import itertools
import os
import time

import docker.errors
import pytest

from lessons.validation import grade_folder, load_exercises
from sandbox.catalog import PROBE_IMAGE
from sandbox.cleanup import LABEL
from sandbox.clients import make_client
from sandbox.environment import BuildEnvironment
from sandbox.labs.commands import CommandPlan, check_commands
from sandbox.labs.compose import check_compose
from sandbox.labs.runner import LabRun, project_name

pytestmark = pytest.mark.sandbox
_ids = itertools.count(1)


def submission_id() -> str:
    return f"labtest-{os.getpid()}-{next(_ids)}"


@pytest.fixture
def client(docker_host):
    client = make_client(docker_host)
    yield client
    client.close()


def leftovers(client, submission: str, names: list[str], project: str = "") -> list[str]:
    """Everything on the daemon that belongs to the lab: by its label, its Compose project or its names."""
    found = []
    filters = [{"label": f"{LABEL}={submission}"}]
    if project:
        filters.append({"label": f"com.docker.compose.project={project}"})
    for one in filters:
        found += [f"container {c.name}" for c in client.containers.list(all=True, filters=one)]
        found += [f"volume {v.name}" for v in client.volumes.list(filters=one)]
        found += [f"network {n.name}" for n in client.networks.list(filters=one)]
        found += [f"image {i.tags or i.id}" for i in client.images.list(all=True, filters=one)]
    for name in names:
        for kind, get in (("container", client.containers.get), ("volume", client.volumes.get),
                          ("network", client.networks.get), ("image", client.images.get)):  # fmt: skip
            try:
                get(name)
            except docker.errors.NotFound:
                continue
            found.append(f"{kind} {name}")
    return found


def split_plan(plan: CommandPlan, at: int) -> tuple[CommandPlan, CommandPlan]:
    """The plan's commands before and from `at`, each knowing every name of the whole lab."""
    return CommandPlan(plan.commands[:at], plan.names), CommandPlan(plan.commands[at:], plan.names)


@pytest.mark.parametrize(
    "slug",
    [
        "keep-data-in-a-volume",
        "compose-web-and-redis",
        # debugging (commands-used), the sandbox's registry (registry), and prune held to the lab's label
        "fix-a-crashing-worker",
        "push-and-pull",
        "prune-without-losing-data",
    ],
)
def test_a_labs_solution_passes_and_its_starter_fails(docker_host, slug):
    exercise = load_exercises()[slug]
    solution = grade_folder(exercise, exercise.solution_files, docker_host)
    assert solution["passed"], [(v["id"], v["message"]) for v in solution["checks"] if not v["passed"]]
    starter = grade_folder(exercise, exercise.starter_files, docker_host)
    assert not starter["passed"]
    assert all(v["status"] in ("passed", "failed") for v in starter["checks"]), starter["checks"]


def test_nothing_a_command_lab_made_is_left_on_the_daemon(docker_host, client):
    files = {"Dockerfile": "FROM busybox:latest\nRUN echo built > /built\n"}
    text = (
        "docker network create leftnet\n"
        "docker volume create leftvol\n"
        "docker run -d --name left-a --network leftnet -v leftvol:/data -v autovol:/auto busybox:latest sleep 300\n"
        "docker run -d --name left-b redis:7\n"
        "docker rm -f left-b\n"
        "docker create --name left-c busybox:latest true\n"
        "docker build -t leftimg:1 .\n"
        "docker tag leftimg:1 leftimg:2\n"
        "docker run --name left-d leftimg:1 true\n"
        "docker run -d --name left-e --restart always busybox:latest sh -c 'exit 1'\n"
        "docker run --rm busybox:latest true\n"
    )
    plan = check_commands(text, files)
    first, rest = split_plan(plan, 4)
    submission = submission_id()
    log: list[str] = []
    with BuildEnvironment(docker_host, submission, on_log=log.append) as env:
        with LabRun(
            env, "commands", {"commands.sh": text.encode(), **{k: v.encode() for k, v in files.items()}}
        ) as lab:
            assert lab.run_commands(first).ok, log
            # redis:7 declares VOLUME /data: `docker rm -f` without -v leaves that anonymous volume behind.
            mounts = lab.container("left-b")["Mounts"]
            anonymous = [mount["Name"] for mount in mounts if mount["Type"] == "volume"]
            assert len(anonymous) == 1 and len(anonymous[0]) == 64
            assert lab.run_commands(rest).ok, log
            a = lab.container("left-a")
            assert a["Config"]["Labels"][LABEL] == submission
            assert "no-new-privileges" in a["HostConfig"]["SecurityOpt"]
            assert client.volumes.get(anonymous[0]).name == anonymous[0]
            assert "$ docker build -t leftimg:1 ." in log
    names = ["leftnet", "leftvol", "autovol", "left-a", "left-b", "left-c", "left-d", "left-e", "leftimg:1"]
    assert leftovers(client, submission, [*names, "leftimg:2", *anonymous]) == []
    assert log[-1] == "# removed what the lab made: 4 containers, 1 network, 3 volumes, 1 image"
    # The catalog images the lab used are still there for the next lab.
    assert client.images.get("redis:7") and client.images.get("busybox:latest") and client.images.get(PROBE_IMAGE)


def test_nothing_a_compose_lab_made_is_left_after_the_checkers_down_and_up(docker_host, client):
    compose = (
        "services:\n"
        "  app:\n"
        "    build: .\n"
        "    networks: [back]\n"
        "    volumes: [data:/data]\n"
        "  cache:\n"
        "    image: redis:7\n"
        "    networks: [back]\n"
        "volumes:\n"
        "  data:\n"
        "networks:\n"
        "  back:\n"
    )
    dockerfile = 'FROM busybox:latest\nCMD ["sleep", "300"]\n'
    files = {"compose.yaml": compose, "Dockerfile": dockerfile}
    plan = check_compose(compose, files)
    submission = submission_id()
    project = project_name(submission)
    log: list[str] = []
    with BuildEnvironment(docker_host, submission, on_log=log.append) as env:
        with LabRun(env, "compose", {name: text.encode() for name, text in files.items()}) as lab:
            assert lab.compose_up(plan).ok, log
            cache = lab.container("cache")
            anonymous = [m["Name"] for m in cache["Mounts"] if m["Type"] == "volume"]
            assert cache["Config"]["Labels"][LABEL] == submission
            assert lab.volume("data")["Labels"][LABEL] == submission
            # The checker's own down and up leave the first cache container's anonymous volume dangling.
            assert lab.compose(["down"], 60, by_grader=True).ok
            assert lab.compose(["up", "--detach"], 120, by_grader=True).ok
            assert lab.container("cache")["Id"] != cache["Id"]
            assert "$ docker-compose down    # run by the checker" in log
    names = [f"{project}_data", f"{project}_back", f"{project}_default", f"{project}_app", *anonymous]
    assert leftovers(client, submission, names, project) == []


def test_a_command_that_does_not_finish_in_time_is_stopped_and_its_container_removed(docker_host, client):
    text = "docker run --name sleeper busybox:latest sleep 60\ndocker ps -a --format '{{.Names}}'\n"
    plan = check_commands(text, {})
    submission = submission_id()
    log: list[str] = []
    with BuildEnvironment(docker_host, submission, on_log=log.append) as env:
        with LabRun(env, "commands", {"commands.sh": text.encode()}, command_seconds=2) as lab:
            started = time.monotonic()
            result = lab.run_commands(plan)
            assert time.monotonic() - started < 15
    assert [(step.timed_out, step.exit_code) for step in result.steps] == [(True, None), (False, 0)]
    assert "# stopped after 2 s: the command did not finish in time" in log
    # `docker ps` in a lab lists the lab's own containers only.
    assert log[log.index("$ docker ps -a --format '{{.Names}}'") + 1] == "sleeper"
    assert leftovers(client, submission, ["sleeper"]) == []
