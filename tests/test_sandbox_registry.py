"""The sandbox's own registry (sandbox/registry.py): started and stopped with each local daemon, inside its
network namespace; emptied before and after every lab; read by the grader from its files. The last tests push
and pull through a real sandbox daemon's registry."""

from __future__ import annotations

import itertools
import json
import os

import pytest

from sandbox import daemons, health, registry
from sandbox.clients import make_client
from sandbox.environment import BuildEnvironment
from sandbox.labs.commands import check_commands
from sandbox.labs.runner import LabRun

_ids = itertools.count(1)


def fake_registry_files(root, repository: str, tags: dict[str, str]) -> None:
    """The files docker-registry's filesystem driver keeps for a repository's tags."""
    for tag, digest in tags.items():
        link = registry.storage(root) / registry.V2 / "repositories" / repository / "_manifests" / "tags" / tag
        (link / "current").mkdir(parents=True)
        (link / "current" / "link").write_text(digest)


# --- Without Docker ----------------------------------------------------------------------------------------------


def test_the_registry_listens_on_the_daemons_loopback_only_and_stores_on_its_disk(sandbox_root):
    d = daemons.daemon(0)
    text = registry.config_text(d.root)
    assert "addr: 127.0.0.1:5000\n" in text
    assert f"rootdirectory: {d.data_root / 'dockyard-registry'}\n" in text
    assert "blobdescriptor" not in text  # no cache that would outlive the files removed between labs


def test_starting_a_daemon_starts_its_registry_in_the_daemons_network_namespace(sandbox_root, monkeypatch):
    d = daemons.daemon(0)
    d.root.mkdir(parents=True)
    monkeypatch.setattr(registry, "installed", lambda: True)
    launched = []
    monkeypatch.setattr(
        daemons, "launch", lambda args, log: launched.append((args, log)) or type("P", (), {"pid": 4242})
    )
    daemons.ensure_registry(d, {"nsenter": "/usr/bin/nsenter"})
    args, log = launched[0]
    assert args == [
        "/usr/bin/nsenter", f"--net=/run/netns/{d.name}", "--",
        registry.BINARY, "serve", str(d.root / "registry.yml"),
    ]  # fmt: skip
    assert log == d.root / "registry.log"
    assert (d.root / "registry.pid").read_text() == "4242\n"
    assert (d.data_root / "dockyard-registry").is_dir()


def test_a_machine_without_docker_registry_starts_no_registry(sandbox_root, monkeypatch):
    d = daemons.daemon(0)
    d.root.mkdir(parents=True)
    monkeypatch.setattr(registry, "installed", lambda: False)
    monkeypatch.setattr(daemons, "launch", lambda args, log: pytest.fail("nothing may be launched"))
    daemons.ensure_registry(d, {"nsenter": "nsenter"})
    assert not (d.root / "registry.pid").exists()
    assert not registry.has_registry(d.docker_host)


def test_stopping_a_daemon_stops_its_registry_before_the_disk_is_unmounted(sandbox_root, monkeypatch):
    d = daemons.daemon(0)
    d.root.mkdir(parents=True)
    (d.root / "registry.pid").write_text("3003\n")
    order = []
    monkeypatch.setattr(daemons, "require_root", lambda: None)
    monkeypatch.setattr(daemons, "require_tools", lambda: {})
    monkeypatch.setattr(daemons, "terminate", lambda pid, marker: order.append((pid, marker)) or pid == 3003)
    monkeypatch.setattr(daemons, "unmount", lambda d, tools: order.append("unmount"))
    daemons.stop(d)
    assert order[-2:] == [(3003, str(d.root / "registry.yml")), "unmount"]
    assert not (d.root / "registry.pid").exists()


def test_a_registry_that_died_is_started_again_and_one_that_runs_is_left_alone(sandbox_root, monkeypatch):
    d = daemons.daemon(0)
    d.root.mkdir(parents=True)
    (d.root / "registry.pid").write_text("3003\n")
    monkeypatch.setattr(registry, "installed", lambda: True)
    monkeypatch.setattr(daemons, "require_tools", lambda: {"nsenter": "nsenter"})
    monkeypatch.setattr(daemons, "limit_daemon_memory", lambda d: None)
    started = []
    monkeypatch.setattr(daemons, "ensure_registry", lambda d, tools: started.append(d.name))
    monkeypatch.setattr(daemons, "pid_alive", lambda pid, marker: True)
    assert daemons.revive_registry(d) is False
    monkeypatch.setattr(daemons, "pid_alive", lambda pid, marker: False)
    assert daemons.revive_registry(d) is True
    assert started == [d.name]


def test_a_daemon_that_never_had_a_registry_is_not_given_one_by_the_health_check(sandbox_root, monkeypatch):
    d = daemons.daemon(0)
    d.root.mkdir(parents=True)
    monkeypatch.setattr(registry, "installed", lambda: True)
    monkeypatch.setattr(daemons, "ensure_registry", lambda d, tools: pytest.fail("nothing may be started"))
    assert daemons.revive_registry(d) is False


def test_the_health_check_of_a_daemon_that_answers_revives_its_registry(sandbox_root, monkeypatch):
    d = daemons.daemon(0)
    revived = []
    monkeypatch.setattr(health, "ping", lambda host: "")
    monkeypatch.setattr(health, "mark_up", lambda host: None)
    monkeypatch.setattr(health, "remember", lambda checked: None)
    monkeypatch.setattr(daemons, "revive_registry", lambda d: revived.append(d.name) or True)
    assert health.check(d).up is True
    assert revived == [d.name]


def test_the_grader_reads_tags_and_digests_from_the_registrys_files(sandbox_root):
    d = daemons.daemon(0)
    fake_registry_files(d.root, "team/greeter", {"1.0": "sha256:" + "a" * 64, "latest": "sha256:" + "b" * 64})
    assert registry.tags(d.docker_host, "team/greeter") == {"1.0": "sha256:" + "a" * 64, "latest": "sha256:" + "b" * 64}
    assert registry.tags(d.docker_host, "team/other") is None
    assert registry.repositories(d.docker_host) == ["team/greeter"]


def test_emptying_the_registry_removes_every_repository(sandbox_root):
    d = daemons.daemon(0)
    fake_registry_files(d.root, "team/greeter", {"1.0": "sha256:" + "a" * 64})
    registry.empty(d.docker_host)
    assert registry.repositories(d.docker_host) == []
    assert registry.storage(d.root).is_dir()


def test_a_daemon_that_is_not_one_of_ours_has_no_registry(sandbox_root):
    assert registry.daemon_root_of("tcp://127.0.0.1:2376") is None
    assert registry.daemon_root_of("unix:///var/run/docker.sock") is None
    assert registry.tags("tcp://127.0.0.1:2376", "team/greeter") is None
    registry.empty("unix:///var/run/docker.sock")  # touches nothing outside SANDBOX_ROOT


# --- Through a real sandbox daemon and its registry ------------------------------------------------------------


@pytest.mark.sandbox
def test_a_lab_pushes_to_the_daemons_registry_pulls_back_by_digest_and_leaves_nothing(docker_host):
    if not registry.has_registry(docker_host):
        pytest.fail(f"the sandbox daemon {docker_host} has no registry: restart it with `manage.py sandbox start`")
    submission = f"registrytest-{os.getpid()}-{next(_ids)}"
    files = {"Dockerfile": "FROM busybox:latest\nRUN echo v1 > /version\n"}
    text = (
        "docker build -t greeter:1.0 .\n"
        "docker tag greeter:1.0 localhost:5000/team/greeter:1.0\n"
        "docker push localhost:5000/team/greeter:1.0\n"
        "docker tag busybox:latest localhost:5000/tools/box:1\n"
        "docker push localhost:5000/tools/box:1\n"
    )
    log: list[str] = []
    encoded = {name: data.encode() for name, data in files.items()}
    with BuildEnvironment(docker_host, submission, on_log=log.append) as env, LabRun(env, "commands", encoded) as lab:
        result = lab.run_commands(check_commands(text, files))
        assert [step.exit_code for step in result.steps] == [0, 0, 0, 0, 0], log
        tags = lab.registry_tags("team/greeter")
        assert list(tags) == ["1.0"] and tags["1.0"].startswith("sha256:")
        assert lab.registry_repositories() == ["team/greeter", "tools/box"]
        # A digest names exactly what was pushed: pulling and running by it works.
        by_digest = f"localhost:5000/team/greeter@{tags['1.0']}"
        more = f"docker rmi greeter:1.0 localhost:5000/team/greeter:1.0\ndocker pull {by_digest}\n"
        more += f"docker run --rm {by_digest} cat /version\n"
        plan = check_commands(text + more, files)
        plan.commands = plan.commands[5:]
        result = lab.run_commands(plan)
        assert [step.exit_code for step in result.steps] == [0, 0, 0], log
        assert result.steps[-1].tail == ["v1"]
    # Leaving the lab empties the registry and removes every name the lab gave, a catalog image's included.
    assert registry.repositories(docker_host) == []
    client = make_client(docker_host)
    try:
        names = [name for image in client.images.list() for name in image.tags + image.attrs["RepoDigests"]]
    finally:
        client.close()
    assert [name for name in names if name.startswith("localhost:5000/") or name.startswith("greeter")] == []
    assert "busybox:latest" in names


@pytest.mark.sandbox
def test_a_labs_prune_and_events_see_only_the_labs_own_objects(docker_host):
    other = f"registrytest-other-{os.getpid()}-{next(_ids)}"
    client = make_client(docker_host)
    # Another learner's container that has run and stopped: it has a die event, and prune would take it.
    outsider = client.containers.run(
        "busybox:latest", "true", name=f"outsider-{os.getpid()}", labels={"dockyard.submission": other}, detach=True
    )
    outsider.wait()
    try:
        text = (
            "docker run --name job busybox:latest true\n"
            # The CLI turns `--until 0s` into whole seconds: wait for the second of the die event to pass.
            "docker run --rm busybox:latest sleep 1\n"
            "docker events --since 1m --until 0s --filter event=die\n"
            "docker container prune -f\n"
        )
        log: list[str] = []
        mine = f"registrytest-{os.getpid()}-{next(_ids)}"
        with BuildEnvironment(docker_host, mine, on_log=log.append) as env:
            with LabRun(env, "commands", {}) as lab:
                result = lab.run_commands(check_commands(text, {}))
                assert [step.exit_code for step in result.steps] == [0, 0, 0, 0], log
                events = [line for line in result.steps[2].tail if " container die " in line]
                # The die of `job`, and (if its second has passed) of the `--rm` container: the lab's own only.
                assert any("name=job" in line for line in events), events
                assert all(f"dockyard.submission={mine}," in line for line in events), events
                assert lab.container("job") is None
        outsider.reload()  # still there: the lab's prune never saw it
        assert outsider.status == "exited"
    finally:
        outsider.remove(force=True)
        client.close()


REGISTRY_PROBE = """
import json, socket, subprocess
gateway = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout.split("default via ")[-1].split()[0]
seen = {}
for host in ("127.0.0.1", gateway):
    try:
        socket.create_connection((host, 5000), timeout=2).close()
        seen[host] = "connected"
    except OSError as error:
        seen[host] = type(error).__name__
print(json.dumps(seen))
"""


@pytest.mark.sandbox
def test_a_labs_containers_cannot_reach_the_daemons_registry(docker_host):
    """The registry listens on the daemon's own loopback: a container's loopback is its own, and the daemon's side
    of a lab network (the gateway) has nothing on port 5000."""
    if not registry.has_registry(docker_host):
        pytest.fail(f"the sandbox daemon {docker_host} has no registry: restart it with `manage.py sandbox start`")
    log: list[str] = []
    with BuildEnvironment(docker_host, f"registrytest-{os.getpid()}-{next(_ids)}", on_log=log.append) as env:
        with LabRun(env, "commands", {}) as lab:
            assert lab.run_commands(check_commands("docker network create probenet\n", {})).ok, log
            code, output = lab.probe(["python3", "-c", REGISTRY_PROBE], network="probenet", timeout=20)
    assert code == 0, output
    seen = json.loads(output.strip().splitlines()[-1])
    assert list(seen.values()) == ["ConnectionRefusedError", "ConnectionRefusedError"], seen


@pytest.mark.sandbox
def test_the_health_check_starts_a_registry_that_was_killed_again(docker_host):
    root = registry.daemon_root_of(docker_host)
    if root is None or not registry.has_registry(docker_host):
        pytest.fail(f"the sandbox daemon {docker_host} has no registry: restart it with `manage.py sandbox start`")
    [d] = [d for d in daemons.all_daemons() if d.docker_host == docker_host]
    old_pid = daemons.read_pid(registry.pidfile(root))
    # The project started this registry, so the test may stop it, by its own PID.
    assert daemons.terminate(old_pid, str(registry.config_file(root)))
    assert health.check(d).up is True
    new_pid = daemons.read_pid(registry.pidfile(root))
    assert new_pid != old_pid
    assert daemons.pid_alive(new_pid, str(registry.config_file(root)))
