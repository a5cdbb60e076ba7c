"""Without Docker: the lab commands that reach past one object (push and pull to the sandbox's registry, events,
prune, system df) in the policy and the runner, and the `commands-used` and `registry` checks, with fakes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sandbox.cleanup import LABEL
from sandbox.grading.lab_used import check_commands_used
from sandbox.grading.spec import spec_problems
from sandbox.grading.state import StateContext, check_registry
from sandbox.labs.commands import check_commands
from sandbox.labs.runner import LabResult, LabRun, StepResult
from sandbox.labs.teardown import LabObjects, untag_lab_names

DIGEST = "sha256:" + "ab" * 32
FILES = {"Dockerfile": "FROM busybox:latest\n", "job.txt": "job\n"}


def lab_spec(kind: str, *checks: dict) -> dict:
    return {"kind": kind, "checks": [{"id": "runs", "type": "lab-run", "title": "It runs"}, *checks]}


def check(**fields) -> dict:
    return {"id": fields.pop("id", "c"), "title": "A check", **fields}


# --- The policy and the runner -----------------------------------------------------------------------------------


def test_a_lab_may_push_what_it_tagged_and_pull_and_run_what_it_pushed_by_tag_or_digest():
    plan = check_commands(
        "docker build -t greeter:1.0 .\n"
        "docker tag greeter:1.0 localhost:5000/team/greeter:1.0\n"
        "docker push localhost:5000/team/greeter:1.0\n"
        "docker rmi greeter:1.0 localhost:5000/team/greeter:1.0\n"
        "docker pull localhost:5000/team/greeter:1.0\n"
        f"docker pull localhost:5000/team/greeter@{DIGEST}\n"
        f"docker run --rm localhost:5000/team/greeter@{DIGEST}\n"
        "docker image inspect localhost:5000/team/greeter:1.0\n",
        FILES,
    )
    assert [command.canonical for command in plan.commands] == [
        "build", "tag", "push", "rmi", "pull", "pull", "run", "inspect",
    ]  # fmt: skip
    assert plan.names.pushed == {"localhost:5000/team/greeter"}
    assert f"localhost:5000/team/greeter@{DIGEST}" in plan.names.images


@pytest.mark.parametrize(
    "line",
    [
        "docker events --since 1m --until 0s",
        "docker events --since 10m --until 0s --filter event=die --filter type=container",
        "docker container prune -f",
        "docker container prune --force --filter until=1h",
        "docker image prune -af",
        "docker volume prune -f --filter label=purpose=scratch",
        "docker network prune -f",
        "docker system df",
        "docker system df --format '{{.Type}} {{.Size}}'",
    ],
)
def test_events_prune_and_system_df_pass_the_policy(line):
    assert check_commands(line + "\n", FILES).commands[-1].line == 1


def runner(label: str = "sub-42") -> LabRun:
    env = SimpleNamespace(label={LABEL: label}, submission_id=label, client=None, workdir=None, on_log=None)
    return LabRun(env, "commands", {})


@pytest.mark.parametrize(
    ("line", "added"),
    [
        ("docker events --since 1m --until 0s", ["--filter", "label=dockyard.submission=sub-42"]),
        ("docker container prune -f", ["--filter", "label=dockyard.submission=sub-42"]),
        ("docker image prune -af", ["--filter", "label=dockyard.submission=sub-42"]),
        ("docker volume prune -f", ["--filter", "label=dockyard.submission=sub-42"]),
        ("docker network prune -f", ["--filter", "label=dockyard.submission=sub-42"]),
        ("docker system df", []),
    ],
)
def test_the_runner_holds_events_and_prune_to_the_labs_own_label(line, added):
    command = check_commands(line + "\n", FILES).commands[0]
    assert runner().added_flags(command) == added


class FakeImages:
    """The Docker SDK's image list and API, as much as untag_lab_names uses."""

    def __init__(self, images: list[dict]):
        self.listed = [SimpleNamespace(attrs=attrs) for attrs in images]
        self.removed: list[tuple[str, bool]] = []
        self.images = SimpleNamespace(list=lambda all=False: self.listed)
        self.api = SimpleNamespace(remove_image=lambda ref, noprune=False: self.removed.append((ref, noprune)))


def test_teardown_removes_the_names_a_lab_gave_to_catalog_images_and_every_registry_name():
    client = FakeImages(
        [
            {
                "RepoTags": ["busybox:latest", "localhost:5000/tools/box:1", "mybox:1"],
                "RepoDigests": [f"localhost:5000/tools/box@{DIGEST}"],
            },
            {"RepoTags": ["redis:7"], "RepoDigests": []},
        ]
    )
    removed = untag_lab_names(client, LabObjects("sub-42", images={"mybox:1"}))
    assert client.removed == [
        ("localhost:5000/tools/box:1", True),
        ("mybox:1", True),
        (f"localhost:5000/tools/box@{DIGEST}", True),
    ]
    assert removed == 3


# --- The checks' spec ----------------------------------------------------------------------------------------------


def test_commands_used_and_registry_checks_are_valid_in_a_command_lab():
    spec = lab_spec(
        "commands",
        check(id="used", type="commands-used", commands=["logs", "inspect", "system df"], container="worker"),
        check(id="pushed", type="registry", repository="team/greeter", tag="1.0"),
        check(
            id="pulled", type="registry", repository="team/greeter", tag="1.0", image="localhost:5000/team/greeter:1.0"
        ),
    )
    assert spec_problems(spec) == []


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (lab_spec("compose", check(type="commands-used", commands=["logs"])),
         "checks (commands-used 'c'): commands-used needs a command lab (kind: commands)"),
        (lab_spec("compose", check(type="registry", repository="team/greeter", tag="1.0")),
         "checks (registry 'c'): registry needs a command lab (kind: commands)"),
        (lab_spec("commands", check(type="commands-used", commands=["frobnicate"])),
         "checks[1] (commands-used): 'commands' names 'frobnicate', which is not a docker command a lab can run"),
        (lab_spec("commands", check(type="commands-used", commands=[])),
         "checks[1] (commands-used): 'commands' must be a list of docker subcommands, such as [logs, inspect]"),
        (lab_spec("commands", check(type="registry", repository="localhost:5000/team/greeter", tag="1.0")),
         "checks[1] (registry): 'repository' must be a repository of the sandbox's registry without its host, such "
         "as shop/web"),
        ({"checks": [check(type="registry", repository="team/greeter", tag="1.0")]},
         "checks (registry 'c'): this check is for labs (kind: commands or compose), not Dockerfiles"),
    ],
)  # fmt: skip
def test_commands_used_and_registry_spec_problems_name_the_rule(spec, problem):
    assert problem in spec_problems(spec)


# --- commands-used -------------------------------------------------------------------------------------------------

DEBUG_LAB = (
    "docker run -d --name worker -v queue:/data busybox:latest true\n"
    "docker run -d --name other busybox:latest true\n"
    "docker logs other\n"
    "docker inspect --format '{{json .Mounts}}' worker\n"
    "docker cp job.txt worker:/queue/job.txt\n"
)


def ran(*codes: int) -> LabResult:
    return LabResult([StepResult(line, "", code, 0.1) for line, code in enumerate(codes, start=1)])


def test_commands_used_names_each_command_it_found_on_the_container():
    plan = check_commands(DEBUG_LAB, FILES)
    outcome = check_commands_used({"commands": ["inspect", "cp"], "container": "worker"}, plan, ran(0, 0, 0, 0, 0))
    assert (outcome.passed, outcome.message) == (
        True,
        "the lab ran `docker inspect --format '{{json .Mounts}}' worker` (line 4), `docker cp job.txt "
        "worker:/queue/job.txt` (line 5), and each showed its output in the log.",
    )


def test_commands_used_fails_for_a_command_on_another_container_and_for_a_command_that_failed():
    plan = check_commands(DEBUG_LAB, FILES)
    outcome = check_commands_used(
        {"commands": ["logs", "inspect", "cp"], "container": "worker"}, plan, ran(0, 0, 0, 0, 1)
    )
    assert (outcome.passed, outcome.message) == (
        False,
        "commands.sh never runs docker logs on worker; `docker cp job.txt worker:/queue/job.txt` (line 5) exited "
        "with code 1; it did run `docker inspect --format '{{json .Mounts}}' worker` (line 4).",
    )


def test_commands_used_without_a_container_counts_any_and_the_preview_reads_the_text_only():
    plan = check_commands("docker system df\ndocker container prune -f\n", FILES)
    assert check_commands_used({"commands": ["system df"]}, plan, ran(0, 0)).passed
    preview = check_commands_used({"commands": ["system df", "volume prune"]}, plan, None)
    assert (preview.passed, preview.message) == (False, "commands.sh never runs docker volume prune; it did run "
                                                 "`docker system df` (line 1).")  # fmt: skip
    assert check_commands_used({"commands": ["system df"]}, plan, None).message == (
        "commands.sh runs `docker system df` (line 1)."
    )


# --- registry --------------------------------------------------------------------------------------------------------


class FakeRegistryLab:
    def __init__(self, tags: dict | None, images: dict | None = None):
        self.tags = tags
        self.images = images or {}

    def registry_tags(self, repository):
        return self.tags if repository == "team/greeter" else None

    def registry_repositories(self):
        return ["team/greeter"] if self.tags is not None else []

    def image(self, reference):
        return self.images.get(reference)


def registry_outcome(lab, **fields):
    outcome = check_registry({"repository": "team/greeter", "tag": "1.0", **fields}, StateContext(lab, "commands"))
    return outcome.passed, outcome.message


def test_the_registry_check_reads_the_tag_and_its_digest():
    assert registry_outcome(FakeRegistryLab({"1.0": DIGEST})) == (
        True,
        f"localhost:5000/team/greeter:1.0 is {DIGEST} in the registry.",
    )
    assert registry_outcome(FakeRegistryLab({"latest": DIGEST})) == (
        False,
        "localhost:5000/team/greeter has no tag 1.0 in the registry (its tags: latest).",
    )
    assert registry_outcome(FakeRegistryLab(None)) == (
        False,
        "the sandbox's registry has no repository localhost:5000/team/greeter (nothing was pushed to it).",
    )


def test_the_registry_check_with_an_image_wants_the_local_image_to_be_that_exact_push():
    pulled = {"localhost:5000/team/greeter:1.0": {"RepoDigests": [f"localhost:5000/team/greeter@{DIGEST}"]}}
    assert registry_outcome(FakeRegistryLab({"1.0": DIGEST}, pulled), image="localhost:5000/team/greeter:1.0") == (
        True,
        f"localhost:5000/team/greeter:1.0 is {DIGEST} in the registry, and the local image "
        f"localhost:5000/team/greeter:1.0 is exactly that content (localhost:5000/team/greeter@{DIGEST}).",
    )
    other = "sha256:" + "cd" * 32
    rebuilt = {"localhost:5000/team/greeter:1.0": {"RepoDigests": [f"localhost:5000/team/greeter@{other}"]}}
    assert registry_outcome(FakeRegistryLab({"1.0": DIGEST}, rebuilt), image="localhost:5000/team/greeter:1.0") == (
        False,
        f"localhost:5000/team/greeter:1.0 is {DIGEST} in the registry, but the local image "
        f"localhost:5000/team/greeter:1.0 is not that push (its digests: localhost:5000/team/greeter@{other}).",
    )
    assert registry_outcome(FakeRegistryLab({"1.0": DIGEST}), image="localhost:5000/team/greeter:1.0")[1] == (
        f"localhost:5000/team/greeter:1.0 is {DIGEST} in the registry, but there is no local image "
        "localhost:5000/team/greeter:1.0."
    )
