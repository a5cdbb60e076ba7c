"""Defence in depth in the sandbox: learners share nothing, nothing outlives a submission, and nothing a build
sends back can grow without bound (docs/security.md).

The tests marked `sandbox` build and run on a real sandbox daemon; the others need nothing running.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from sandbox import cgroups, daemons
from sandbox.bounded import fit, json_size
from sandbox.cleanup import LABEL, remove_labelled
from sandbox.clients import make_client
from sandbox.environment import BuildEnvironment, slug
from sandbox.models import Submission

from .conftest import make_user

SECRET = re.compile(r"[0-9a-f]{16}")


@pytest.fixture
def submission_id(request) -> str:
    return f"test-defence-{request.node.name[:24]}-{os.getpid()}-{time.monotonic_ns()}"


@pytest.fixture
def client(docker_host):
    docker_client = make_client(docker_host)
    yield docker_client
    docker_client.close()


def labelled(client, submission_id: str) -> dict[str, list]:
    filters = {"label": f"{LABEL}={submission_id}"}
    return {
        "containers": client.containers.list(all=True, filters=filters),
        "images": client.images.list(filters=filters),
        "networks": client.networks.list(filters=filters),
        "volumes": client.volumes.list(filters=filters),
    }


def nothing_left(client, submission_id: str) -> bool:
    return all(found == [] for found in labelled(client, submission_id).values())


def dockerfile(text: str) -> dict[str, bytes]:
    return {"Dockerfile": text.encode()}


# --- Names nobody can guess ----------------------------------------------------------------------------------


@pytest.mark.sandbox
def test_image_and_container_names_carry_a_random_part_that_differs_per_submission(docker_host, submission_id, client):
    files = dockerfile(f"FROM busybox:latest\nRUN echo {uuid.uuid4().hex} > /token\n")
    with (
        BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as first,
        BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as second,
    ):
        built = [env.build(files) for env in (first, second)]
        assert all(result.ok for result in built), [result.message for result in built]
        # The same files give the same image; it carries one tag per environment.
        tags = sorted(client.images.get(built[0].image_id).tags)
        container = first.start_container(built[0].image_id, ["sleep", "300"])
        container.reload()
        secrets = (first.secret, second.secret)
    assert all(SECRET.fullmatch(secret) for secret in secrets) and secrets[0] != secrets[1]
    assert tags == sorted(f"dockyard/sub-{slug(submission_id)}-{secret}:latest" for secret in secrets)
    assert container.name == f"dockyard-{slug(submission_id)}-{secrets[0]}-c1"
    assert nothing_left(client, submission_id)


# --- Cache mounts start empty for every submission ----------------------------------------------------------------


@pytest.mark.sandbox
def test_a_cache_mount_planted_by_one_submission_is_empty_for_the_next(docker_host, client):
    planted = f"planted-{uuid.uuid4().hex}"
    plant = f"FROM busybox:latest\nRUN --mount=type=cache,target=/cache,id=pip echo {planted} > /cache/note\n"

    def reader(marker: str) -> dict[str, bytes]:
        # A fresh marker in the command keeps the step out of the layer cache, so it really runs.
        return dockerfile(
            "FROM busybox:latest\n"
            f"RUN --mount=type=cache,target=/cache,id=pip cat /cache/note 2>/dev/null || echo {marker}\n"
        )

    first_log: list[str] = []
    with BuildEnvironment(docker_host, f"test-plant-{uuid.uuid4().hex[:8]}", on_log=first_log.append) as env:
        assert env.build(dockerfile(plant)).ok
        # The grader rebuilds within the same submission (the cache check): the cache mount is still there.
        rebuilt = env.build(reader(f"empty-{uuid.uuid4().hex}"), tag_suffix="-cache")
    assert rebuilt.ok, rebuilt.message
    assert any(line.endswith(planted) for line in first_log), first_log[-10:]

    empty = f"empty-{uuid.uuid4().hex}"
    next_log: list[str] = []
    with BuildEnvironment(docker_host, f"test-read-{uuid.uuid4().hex[:8]}", on_log=next_log.append) as env:
        result = env.build(reader(empty))
    assert result.ok, result.message
    assert not any(planted in line for line in next_log)
    assert any(line.endswith(empty) for line in next_log), next_log[-10:]


# --- Nothing outlives a submission -----------------------------------------------------------------------------


@pytest.mark.sandbox
def test_leaving_the_environment_removes_its_networks_and_volumes_too(docker_host, submission_id, client):
    with BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as env:
        network = env.create_network()
        volume = env.create_volume()
        # A container on that network with that volume, as a Compose lab would make it.
        client.containers.run(
            "busybox:latest",
            ["sleep", "300"],
            detach=True,
            name=env.new_name("c"),
            network=network.name,
            volumes={volume.name: {"bind": "/data", "mode": "rw"}},
            labels=env.label,
        )
        # A network and a volume made directly with the daemon, labelled as every sandbox object is.
        client.networks.create(f"{env.new_name('net')}", driver="bridge", internal=True, labels=env.label)
        client.volumes.create(env.new_name("vol"), labels=env.label)
        found = labelled(client, submission_id)
        assert {kind: len(items) for kind, items in found.items()} == {
            "containers": 1,
            "images": 0,
            "networks": 2,
            "volumes": 2,
        }
        assert network.name.startswith(f"dockyard-{slug(submission_id)}-{env.secret}-net")
        assert volume.name.startswith(f"dockyard-{slug(submission_id)}-{env.secret}-vol")
    assert nothing_left(client, submission_id)


@pytest.mark.sandbox
def test_leftover_networks_and_volumes_are_removed_by_age_and_label(docker_host, submission_id, client):
    labels = {LABEL: submission_id}
    client.networks.create(f"leftover-{uuid.uuid4().hex}", driver="bridge", internal=True, labels=labels)
    client.volumes.create(f"leftover-{uuid.uuid4().hex}", labels=labels)
    try:
        young = remove_labelled(client, f"{LABEL}={submission_id}", older_than_seconds=3600)
        assert young == {"containers": 0, "images": 0, "networks": 0, "volumes": 0}
        removed = remove_labelled(client, f"{LABEL}={submission_id}")
        assert removed == {"containers": 0, "images": 0, "networks": 1, "volumes": 1}
        assert nothing_left(client, submission_id)
    finally:
        remove_labelled(client, f"{LABEL}={submission_id}")


# --- The daemons' own memory ------------------------------------------------------------------------------------


def fake_memory_hierarchy(root: Path, name: str) -> Path:
    directory = root / "memory" / cgroups.daemon_memory_cgroup(name)
    directory.mkdir(parents=True)
    for file_name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "cgroup.procs"):
        (directory / file_name).write_text("")
    return directory


def test_the_daemons_memory_cgroup_gets_its_limit_and_their_processes(tmp_path, settings):
    settings.SANDBOX_DAEMON_MEMORY_MB = 768
    directory = fake_memory_hierarchy(tmp_path, "dockyard-sb0")
    assert cgroups.place_in_daemon_cgroup("dockyard-sb0", [4242], tmp_path) == directory
    assert directory.name == "dockyard-sb0-daemon"
    assert (directory / "memory.limit_in_bytes").read_text() == str(768 * 1024 * 1024)
    assert (directory / "memory.memsw.limit_in_bytes").read_text() == str(768 * 1024 * 1024)
    assert (directory / "cgroup.procs").read_text() == "4242"


def test_starting_a_sandbox_caps_its_running_containerd_and_dockerd(monkeypatch, tmp_path, settings):
    settings.SANDBOX_ROOT = tmp_path
    d = daemons.daemon(0)
    d.root.mkdir(parents=True)
    d.pidfile.write_text("2002\n")
    d.containerd_pidfile.write_text("1001\n")
    alive = {1001: str(d.containerd_config), 2002: str(d.socket)}
    monkeypatch.setattr(daemons, "pid_alive", lambda pid, marker: alive.get(pid) == marker)
    placed = []
    monkeypatch.setattr(daemons, "place_in_daemon_cgroup", lambda name, pids: placed.append((name, pids)))
    daemons.limit_daemon_memory(d)
    assert placed == [("dockyard-sb0", [1001, 2002])]


@pytest.mark.sandbox
def test_the_kernel_caps_a_process_put_in_a_daemon_memory_cgroup(settings):
    """The same function that caps dockerd and containerd, on a process of this test, on the real cgroup tree."""
    settings.SANDBOX_DAEMON_MEMORY_MB = 300
    name = f"dockyard-test-{os.getpid()}"
    sleeper = subprocess.Popen(["sleep", "60"])
    directory = cgroups.CGROUP_ROOT / "memory" / cgroups.daemon_memory_cgroup(name)
    try:
        assert cgroups.place_in_daemon_cgroup(name, [sleeper.pid]) == directory
        assert (directory / "memory.limit_in_bytes").read_text().strip() == str(300 * 1024 * 1024)
        memory_line = next(
            line for line in Path(f"/proc/{sleeper.pid}/cgroup").read_text().splitlines() if ":memory:" in line
        )
        assert memory_line.endswith(f":memory:/{name}-daemon")
    finally:
        os.kill(sleeper.pid, signal.SIGKILL)
        sleeper.wait()
        deadline = time.monotonic() + 5
        while directory.exists() and time.monotonic() < deadline:
            try:
                directory.rmdir()
            except OSError:
                time.sleep(0.1)


# --- What a build sends back is bounded -------------------------------------------------------------------------


@pytest.mark.sandbox
def test_an_image_with_a_huge_configuration_is_refused_in_words(docker_host, submission_id, client):
    values = "".join(f"ENV BIG{index}={'x' * 8000}\n" for index in range(12))
    with BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as env:
        result = env.build(dockerfile(f"FROM busybox:latest\n{values}"))
        assert labelled(client, submission_id)["images"] == []
    assert (result.ok, result.reason, result.image_id) == (False, "config_too_large", None)
    assert re.fullmatch(
        r"The image was built, but its configuration \(ENV, LABEL, CMD and the like\) is 9\d KiB; the sandbox "
        r"accepts at most 64 KiB\. Make the ENV and LABEL values shorter, or put large data in a file that you "
        r"COPY into the image\.",
        result.message,
    ), result.message


def test_data_under_the_cap_is_kept_as_it_is():
    data = {"status": "passed", "checks": [{"id": "build", "message": "ok"}]}
    assert fit(data, 1024, "This result") is data


def test_data_over_the_cap_is_shortened_keeping_its_shape_with_a_note():
    steps = [{"index": n, "instruction": f"RUN echo {'y' * 3000}", "cached": False} for n in range(400)]
    data = {"passed": True, "message": "The image was built.", "build": {"ok": True, "steps": steps}}
    assert json_size(data) > 1024 * 1024
    shortened = fit(data, 64 * 1024, "This result")
    assert json_size(shortened) <= 64 * 1024
    assert shortened["passed"] is True and shortened["message"] == "The image was built."
    assert shortened["truncated"] == (
        f"This result was {json_size(data) // 1024} KiB, more than the 64 KiB the site keeps, so long texts and "
        "lists in it were shortened."
    )
    kept = shortened["build"]["steps"]
    assert 0 < len(kept) < 400 and all(set(step) == {"index", "instruction", "cached"} for step in kept)
    assert kept[0]["index"] == 0 and kept[0]["instruction"].endswith(" … [cut]")


def test_data_that_cannot_be_shortened_enough_keeps_only_its_short_fields():
    deep: object = "z" * 100
    for _ in range(10):
        deep = [deep, deep, deep]  # even two items a level and 64 characters a text are too much at this depth
    data = {"passed": False, "message": "m" * 500, "deep": deep}
    shortened = fit(data, 1024, "This result")
    assert set(shortened) == {"passed", "message", "truncated"}
    assert shortened["message"] == "m" * 200 + " … [cut]"


@pytest.mark.django_db
def test_a_stored_event_and_a_stored_result_never_exceed_their_caps(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    submission = Submission.objects.create(user=make_user(), files={"Dockerfile": "FROM busybox\n"}, status="running")
    event = submission.publish("log", text="z" * (2 * settings.EVENT_MAX_BYTES))
    stored = submission.events.get(seq=event["seq"]).data
    assert json_size(stored) <= settings.EVENT_MAX_BYTES
    assert stored["text"].startswith("zzz") and stored["text"].endswith(" … [cut]")
    assert stored["truncated"].startswith("This log event was 512 KiB, more than the 256 KiB the site keeps")

    layers = [{"instruction": f"LABEL a{n}={'v' * 2000}", "size": 0, "cached": False} for n in range(500)]
    outcome = {"passed": True, "score": 100, "message": "built", "checks": [], "image": {"layers": layers}}
    assert submission.finish(outcome)
    submission.refresh_from_db()
    assert json_size(submission.result) <= settings.RESULT_MAX_BYTES
    assert submission.status == "passed" and submission.message == "built"
    assert submission.result["truncated"].startswith("This result was ")
    result_event = submission.events.order_by("-seq").first().data
    assert result_event["truncated"] == submission.result["truncated"]
    assert json.dumps(result_event).count("LABEL a0=") == 1
