"""The sandbox daemons and the offline base-image catalog.

Unit tests need nothing running and no root: they use fake cgroup trees, temporary directories and
small child processes. Tests marked `sandbox` use the real running daemons (`manage.py sandbox start`).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import docker
import pytest
from django.conf import settings
from django.core.management import call_command

from sandbox import catalog, daemons, rootfs
from sandbox import cgroups as cgroups_module
from sandbox.catalog import CatalogError
from sandbox.clients import SandboxError, SandboxSetupError, docker_environment, make_client


@pytest.fixture
def catalog_cache(settings, tmp_path):
    settings.CATALOG_CACHE = tmp_path / "catalog"
    settings.CATALOG_IMAGES = ["busybox:latest", "debian:bookworm-slim", "python:3.11-slim"]
    settings.CATALOG_REGISTRY_MIRROR = ""
    return settings.CATALOG_CACHE


def sleeper(*marker: str) -> subprocess.Popen:
    """A harmless child process whose command line carries the given marker."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *marker])
    # Until exec, the child's command line is still pytest's own; wait for the real one.
    deadline = time.monotonic() + 10
    while b"time.sleep" not in Path(f"/proc/{child.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    return child


# --- Which daemons exist ------------------------------------------------------------------------------------


def test_each_daemon_has_its_own_directory_socket_and_host(sandbox_root):
    first, second = daemons.all_daemons()
    assert first.name == "dockyard-sb0" and second.name == "dockyard-sb1"
    assert first.root == sandbox_root / "dockyard-sb0"
    assert first.socket == sandbox_root / "dockyard-sb0" / "docker.sock"
    assert first.docker_host == f"unix://{sandbox_root}/dockyard-sb0/docker.sock"
    assert first.cgroup == "/dockyard-sb0"
    assert daemons.all_docker_hosts() == [first.docker_host, second.docker_host]
    assert daemons.docker_host_for(1) == second.docker_host


def test_a_daemon_number_outside_the_count_is_refused(sandbox_root):
    with pytest.raises(SandboxSetupError, match=r"no sandbox number 2; the pool has 2 local and 0 remote"):
        daemons.daemon(2)


def test_a_name_prefix_gives_a_second_set_of_daemons_their_own_folders_cgroups_and_namespaces(sandbox_root, settings):
    settings.SANDBOX_NAME_PREFIX = "dockyard-rt"
    first = daemons.daemon(0)
    assert first.name == "dockyard-rt0"
    assert first.root == sandbox_root / "dockyard-rt0"
    assert first.cgroup == "/dockyard-rt0"
    assert daemons.netns_name(first) == "dockyard-rt0"
    assert "--cgroup-parent=/dockyard-rt0" in daemons.dockerd_args(first)


def test_remote_daemons_join_the_pool_after_the_local_ones(sandbox_root, settings):
    settings.SANDBOX_COUNT = 1
    settings.SANDBOX_REMOTE_HOSTS = ["tcp://sandbox-a:2376", "tcp://sandbox-b:2376"]
    pool = daemons.all_daemons()
    assert [(d.name, d.remote) for d in pool] == [
        ("dockyard-sb0", False),
        ("sandbox-a:2376", True),
        ("sandbox-b:2376", True),
    ]
    assert daemons.all_docker_hosts()[1:] == ["tcp://sandbox-a:2376", "tcp://sandbox-b:2376"]


def test_a_pool_of_remote_daemons_only(sandbox_root, settings):
    settings.SANDBOX_COUNT = 0
    settings.SANDBOX_REMOTE_HOSTS = ["tcp://sandbox-a:2376"]
    assert daemons.all_docker_hosts() == ["tcp://sandbox-a:2376"]


def test_a_remote_daemon_is_spoken_to_over_verified_tls(settings, tmp_path):
    settings.SANDBOX_TLS_CERT_PATH = str(tmp_path)
    assert docker_environment("tcp://sandbox-a:2376") == {
        "DOCKER_HOST": "tcp://sandbox-a:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(tmp_path),
    }
    assert docker_environment("unix:///x/docker.sock") == {"DOCKER_HOST": "unix:///x/docker.sock"}


def test_a_local_daemon_can_also_listen_over_tls_inside_its_namespace(sandbox_root, settings, tmp_path):
    settings.SANDBOX_TLS_LISTEN_PORT = 23760
    settings.SANDBOX_TLS_SERVER_CERT_PATH = str(tmp_path)
    args = daemons.dockerd_args(daemons.daemon(1))
    assert "--host=tcp://127.0.0.1:23761" in args
    assert "--tlsverify" in args
    assert f"--tlscert={tmp_path}/server-cert.pem" in args


def test_a_remote_docker_host_is_the_only_daemon(sandbox_root, settings):
    settings.SANDBOX_DOCKER_HOST = "tcp://sandbox:2376"
    assert daemons.all_docker_hosts() == ["tcp://sandbox:2376"]
    assert daemons.docker_host_for(0) == "tcp://sandbox:2376"
    assert daemons.daemon(0).remote
    with pytest.raises(SandboxSetupError, match="no sandbox number 1; the pool has 0 local and 1 remote"):
        daemons.docker_host_for(1)


def test_starting_a_remote_daemon_only_checks_that_it_answers(sandbox_root, settings, monkeypatch):
    settings.SANDBOX_DOCKER_HOST = "tcp://sandbox:2376"
    checked = []
    monkeypatch.setattr(daemons, "wait_until_answers", lambda d, process, timeout: checked.append(d.docker_host))
    monkeypatch.setattr(daemons, "launch", lambda *args: pytest.fail("a remote daemon must not be launched"))
    daemons.start_all()
    assert daemons.stop_all() == []
    assert checked == ["tcp://sandbox:2376", "tcp://sandbox:2376"]


# --- Command lines and config ---------------------------------------------------------------------------------


def test_dockerd_gets_its_own_state_and_the_safety_flags(sandbox_root):
    d = daemons.daemon(0)
    args = daemons.dockerd_args(d, "/usr/sbin/dockerd")
    assert args[0] == "/usr/sbin/dockerd"
    for flag in (
        f"--data-root={d.root}/data",
        f"--exec-root={d.root}/exec",
        f"--pidfile={d.root}/docker.pid",
        f"--host=unix://{d.root}/docker.sock",
        f"--containerd={d.root}/exec/containerd/containerd.sock",
        f"--config-file={d.root}/daemon.json",
        "--bridge=none",
        "--iptables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        "--userns-remap=default",
        "--cgroup-parent=/dockyard-sb0",
    ):
        assert flag in args
    joined = " ".join(args)
    assert "/var/run/docker.sock" not in joined and "/var/lib/docker" not in joined


def test_two_daemons_share_no_paths(sandbox_root):
    first, second = daemons.all_daemons()
    first_paths = {arg.split("=", 1)[-1] for arg in daemons.dockerd_args(first)[1:] if "/" in arg}
    second_paths = {arg.split("=", 1)[-1] for arg in daemons.dockerd_args(second)[1:] if "/" in arg}
    assert first_paths.isdisjoint(second_paths)
    assert daemons.containerd_config_text(first) != daemons.containerd_config_text(second)


def test_containerd_keeps_its_root_on_the_capped_disk_and_its_socket_in_the_exec_root(sandbox_root):
    d = daemons.daemon(1)
    text = daemons.containerd_config_text(d)
    assert f'root = "{d.root}/data/containerd"' in text
    assert f'state = "{d.root}/exec/containerd"' in text
    assert f'address = "{d.containerd_socket}"' in text
    assert "io.containerd.grpc.v1.cri" in text
    assert daemons.containerd_args(d) == ["containerd", "--config", str(d.root / "containerd.toml")]


def test_a_sandbox_root_too_long_for_unix_sockets_is_refused(settings, sandbox_root):
    settings.SANDBOX_ROOT = Path("/" + "x" * 120)
    with pytest.raises(SandboxSetupError, match="Choose a shorter SANDBOX_ROOT"):
        daemons.check_socket_paths(daemons.daemon(0))


# --- cgroups ----------------------------------------------------------------------------------------------------


def fake_cgroup_tree(root: Path, name: str, memsw: bool = True) -> Path:
    files = {
        "memory": ["memory.limit_in_bytes"] + (["memory.memsw.limit_in_bytes"] if memsw else []),
        "pids": ["pids.max"],
        "cpu": ["cpu.cfs_period_us", "cpu.cfs_quota_us"],
    }
    for controller, names in files.items():
        (root / controller).mkdir(parents=True)
        (root / controller / "cgroup.procs").write_text("")
        (root / controller / name).mkdir()
        for file_name in names:
            (root / controller / name / file_name).write_text("-1")
    return root


def test_limits_come_from_the_settings(sandbox_root, settings, tmp_path):
    settings.SANDBOX_MEMORY_MB, settings.SANDBOX_PIDS, settings.SANDBOX_CPUS = 256, 128, 2
    cgroups = fake_cgroup_tree(tmp_path / "cgroup", "dockyard-sb0")
    d = daemons.daemon(0)
    cgroups_module.write_cgroup_limits(d.name, cgroups)
    assert cgroups_module.read_cgroup_limits(d.name, cgroups) == {
        "memory.limit_in_bytes": str(256 * 1024 * 1024),
        "memory.memsw.limit_in_bytes": str(256 * 1024 * 1024),
        "pids.max": "128",
        "cpu.cfs_period_us": "100000",
        "cpu.cfs_quota_us": "200000",
    }


def test_a_kernel_without_swap_accounting_still_gets_a_memory_limit(sandbox_root, tmp_path):
    cgroups = fake_cgroup_tree(tmp_path / "cgroup", "dockyard-sb1", memsw=False)
    d = daemons.daemon(1)
    cgroups_module.write_cgroup_limits(d.name, cgroups)
    assert cgroups_module.read_cgroup_limits(d.name, cgroups)["memory.limit_in_bytes"] == str(1024 * 1024 * 1024)


def test_a_missing_limit_file_is_a_clear_error(sandbox_root, tmp_path):
    cgroups = fake_cgroup_tree(tmp_path / "cgroup", "dockyard-sb0")
    (cgroups / "pids" / "dockyard-sb0" / "pids.max").unlink()
    with pytest.raises(SandboxSetupError, match=r"pids\.max does not exist.*cgroup v1"):
        cgroups_module.write_cgroup_limits(daemons.daemon(0).name, cgroups)


def test_a_missing_cgroup_hierarchy_is_a_clear_error(tmp_path):
    with pytest.raises(SandboxSetupError, match="cgroup v1 'memory' hierarchy is missing"):
        cgroups_module.require_cgroup_controllers(tmp_path)


# --- Host checks ------------------------------------------------------------------------------------------------


def test_starting_without_root_says_so(sandbox_root, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxSetupError, match="must be started as root"):
        daemons.start(daemons.daemon(0))


def test_a_missing_dockerd_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(daemons.shutil, "which", lambda name, path=None: None)
    with pytest.raises(SandboxSetupError, match=r"dockerd was not found.*apt-get install docker\.io"):
        daemons.require_tools()


# --- Processes --------------------------------------------------------------------------------------------------


def test_a_pid_counts_as_ours_only_when_its_command_line_has_the_marker(tmp_path):
    marker = f"dockyard-test-{uuid.uuid4().hex}"
    child = sleeper(marker)
    try:
        assert daemons.pid_alive(child.pid, marker)
        assert not daemons.pid_alive(child.pid, "some-other-daemon.sock")
        assert not daemons.pid_alive(None, marker)
    finally:
        child.kill()
        child.wait()
    assert not daemons.pid_alive(child.pid, marker)


def test_terminate_stops_our_process_and_leaves_a_stranger_alone():
    marker = f"dockyard-test-{uuid.uuid4().hex}"
    ours, stranger = sleeper(marker), sleeper()
    try:
        assert daemons.terminate(stranger.pid, marker, timeout=5) is False
        assert stranger.poll() is None
        assert daemons.terminate(ours.pid, marker, timeout=5) is True
        assert not daemons.pid_alive(ours.pid, marker)
    finally:
        for child in (ours, stranger):
            child.kill()
            child.wait()


def test_a_pidfile_with_garbage_or_nothing_means_no_pid(tmp_path):
    (tmp_path / "bad.pid").write_text("not a number")
    assert daemons.read_pid(tmp_path / "bad.pid") is None
    assert daemons.read_pid(tmp_path / "missing.pid") is None
    (tmp_path / "good.pid").write_text("1234\n")
    assert daemons.read_pid(tmp_path / "good.pid") == 1234


class ExitedProcess:
    returncode = 1

    def poll(self):
        return self.returncode


def test_a_daemon_that_dies_while_starting_shows_its_log_tail(sandbox_root):
    d = daemons.daemon(0)
    d.root.mkdir(parents=True)
    d.log_file.write_text("level=info msg=Starting up\nfailed to start daemon: something precise went wrong\n")
    with pytest.raises(SandboxSetupError, match="exited with code 1") as error:
        daemons.wait_until_answers(d, process=ExitedProcess(), timeout=5)
    assert "something precise went wrong" in str(error.value)


def test_the_daemon_runs_inside_its_own_network_namespace():
    d = daemons.daemon(0)
    args = daemons.in_netns(d, ["dockerd", "--bridge=none"])
    assert args == ["nsenter", f"--net=/run/netns/{d.name}", "--", "dockerd", "--bridge=none"]


def test_the_build_cache_is_garbage_collected_to_a_quarter_of_the_disk():
    config = json.loads(daemons.daemon_config_text(disk_gb=8))
    assert config == {"builder": {"gc": {"enabled": True, "defaultKeepStorage": "2GB"}}}


def fake_host(monkeypatch, running: bool) -> list[str]:
    """Stand-ins for everything start() does to the host; returns a record of what was done."""
    done = []
    monkeypatch.setattr(daemons, "require_root", lambda: None)
    monkeypatch.setattr(
        daemons, "require_tools", lambda: {"dockerd": "dockerd", "umount": "umount", "nsenter": "nsenter"}
    )
    monkeypatch.setattr(daemons, "ensure_netns", lambda d, tools: done.append("netns"))
    monkeypatch.setattr(daemons, "require_cgroup_controllers", lambda: None)
    monkeypatch.setattr(daemons, "check_socket_paths", lambda d: None)
    monkeypatch.setattr(daemons, "write_cgroup_limits", lambda name: done.append("limits"))
    monkeypatch.setattr(daemons, "is_running", lambda d: running)
    monkeypatch.setattr(daemons, "ensure_disk", lambda d, tools: done.append("disk"))
    monkeypatch.setattr(daemons, "ensure_containerd", lambda d, tools: done.append("containerd"))
    monkeypatch.setattr(daemons, "ensure_registry", lambda d, tools: done.append("registry"))
    monkeypatch.setattr(daemons, "launch", lambda args, log: done.append("dockerd"))
    monkeypatch.setattr(daemons, "wait_until_answers", lambda d, process, timeout: done.append("ping"))
    monkeypatch.setattr(daemons, "require_userns", lambda d: done.append("userns"))
    monkeypatch.setattr(daemons, "limit_daemon_memory", lambda d: done.append("daemon memory"))
    return done


def test_start_leaves_a_running_daemon_alone_but_refreshes_its_limits(sandbox_root, monkeypatch):
    done = fake_host(monkeypatch, running=True)
    daemons.start(daemons.daemon(0))
    # The disk and containerd steps run but find their part already up; dockerd is not launched again.
    assert done == ["limits", "disk", "netns", "containerd", "registry", "ping", "daemon memory"]


def test_start_of_a_stopped_daemon_mounts_starts_and_waits(sandbox_root, monkeypatch):
    done = fake_host(monkeypatch, running=False)
    d = daemons.daemon(1)
    daemons.start(d)
    assert done == ["limits", "disk", "netns", "containerd", "registry", "dockerd", "ping", "userns", "daemon memory"]
    assert json.loads(d.config_file.read_text())["builder"]["gc"]["enabled"] is True
    assert oct(d.root.stat().st_mode & 0o777) == "0o711"


def test_stop_of_a_daemon_that_is_not_running_signals_nothing(sandbox_root, monkeypatch):
    fake_host(monkeypatch, running=False)
    unmounted = []
    monkeypatch.setattr(daemons, "unmount", lambda d, tools: unmounted.append(d.name))
    monkeypatch.setattr(daemons.os, "kill", lambda *args: pytest.fail("nothing may be signalled"))
    for d in daemons.all_daemons():
        d.root.mkdir(parents=True)
        d.pidfile.write_text(f"{os.getpid()}\n")  # a live PID that is not a dockerd
    assert daemons.stop_all() == []
    assert unmounted == ["dockyard-sb0", "dockyard-sb1"]


def test_status_of_stopped_daemons(sandbox_root):
    states = daemons.status_all()
    assert [(s.name, s.running, s.pid) for s in states] == [
        ("dockyard-sb0", False, None),
        ("dockyard-sb1", False, None),
    ]


def test_the_status_command_is_short_and_human(sandbox_root, db, monkeypatch):
    monkeypatch.setattr("sandbox.health.last_checks", lambda: {})
    out = io.StringIO()
    call_command("sandbox", "status", stdout=out)
    assert out.getvalue() == "dockyard-sb0: down\ndockyard-sb1: down\n"


# --- Catalog -----------------------------------------------------------------------------------------------------


def test_catalog_names_are_the_settings_list_and_their_docker_io_forms(catalog_cache):
    names = catalog.catalog_names()
    assert "python:3.11-slim" in names and "docker.io/library/python:3.11-slim" in names
    assert "debian:bookworm-slim" in names and "docker.io/library/debian:bookworm-slim" in names
    assert "busybox:latest" in names and "busybox" in names and "docker.io/library/busybox" in names
    assert "python:3.11" not in names and "python:3.12-slim-bookworm" not in names and "ubuntu:20.04" not in names
    # The catalog's alias tags name the same images more precisely.
    assert "python:3.11.2-slim-bookworm" in names and "busybox:1.35" in names


def test_the_mirror_is_read_from_apt_in_both_formats():
    one_line = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib\n"
    deb822 = (
        "Types: deb\nURIs: http://deb.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://deb.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n"
        "Types: deb\nURIs: http://off.example/\nSuites: bookworm\nComponents: main\nEnabled: no\n"
    )
    assert rootfs.parse_apt_sources(one_line, deb822=False) == [
        ("http://mirror.example/debian", ["bookworm"], ["main", "contrib"])
    ]
    entries = rootfs.parse_apt_sources(deb822, deb822=True)
    assert rootfs.debian_mirrors(entries) == ("http://deb.example/debian", "http://deb.example/debian-security")
    assert rootfs.sources_list(*rootfs.debian_mirrors(entries)) == (
        "deb http://deb.example/debian bookworm main\n"
        "deb http://deb.example/debian bookworm-updates main\n"
        "deb http://deb.example/debian-security bookworm-security main\n"
    )


def test_no_bookworm_source_is_a_clear_error():
    with pytest.raises(CatalogError, match="no 'bookworm main' source"):
        rootfs.debian_mirrors([("http://deb.example/debian", ["trixie"], ["main"])])


def test_a_tarball_is_remade_only_when_missing_or_its_recipe_changed(catalog_cache):
    name = "debian:bookworm-slim"
    assert catalog.needs_build(name)
    catalog_cache.mkdir(parents=True)
    catalog.tarball_path(name).write_bytes(b"tar")
    catalog.manifest_path(name).write_text(f'{{"recipe": "{catalog.RECIPE_VERSIONS[name]}", "id": "sha256:1"}}')
    assert not catalog.needs_build(name)
    catalog.manifest_path(name).write_text('{"recipe": "0-old", "id": "sha256:1"}')
    assert catalog.needs_build(name)


def test_the_python_image_is_configured_like_the_official_one():
    changes = catalog.image_changes("python:3.11-slim", "3.11.2")
    assert "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in changes
    assert "ENV LANG=C.UTF-8" in changes and "ENV PYTHON_VERSION=3.11.2" in changes
    assert 'CMD ["python3"]' in changes
    assert "LABEL dockyard.catalog=1" in changes
    assert f"LABEL dockyard.catalog.recipe={catalog.RECIPE_VERSIONS['python:3.11-slim']}" in changes


def test_changing_the_wheelhouse_changes_the_python_recipe():
    assert rootfs.WHEELHOUSE_VERSION in catalog.RECIPE_VERSIONS["python:3.11-slim"]
    pinned = dict(requirement.split("==") for requirement in rootfs.WHEELHOUSE_REQUIREMENTS)
    assert {"flask", "gunicorn", "requests", "pytest"} <= set(pinned)
    # Exact versions only: a fresh machine builds the same wheelhouse, whatever PyPI has published since.
    assert all(version[0].isdigit() for version in pinned.values())


def test_the_solutions_pin_the_versions_the_wheelhouse_holds():
    pinned = dict(requirement.split("==") for requirement in rootfs.WHEELHOUSE_REQUIREMENTS)
    for requirements in settings.LESSONS_CONTENT_DIR.glob("*/exercises/*/solution/**/requirements.txt"):
        for line in requirements.read_text().splitlines():
            name, _, version = line.split("#")[0].strip().partition("==")
            if name:
                assert pinned.get(name.lower()) == version, f"{requirements}: {line} is not in the wheelhouse"


def test_an_unknown_catalog_image_is_refused_before_any_work(catalog_cache, settings):
    settings.CATALOG_IMAGES = ["busybox:latest", "node:20-slim"]
    with pytest.raises(CatalogError, match="names node:20-slim, which the catalog cannot make"):
        catalog.build_catalog()


@pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="needs Debian's busybox-static")
def test_the_busybox_tree_has_applets_users_and_tmp(tmp_path):
    rootfs.build_busybox_rootfs(tmp_path)
    assert os.readlink(tmp_path / "bin" / "sh") == "busybox"
    assert (tmp_path / "bin" / "busybox").stat().st_size > 100_000
    assert "nobody:x:65534" in (tmp_path / "etc" / "passwd").read_text()
    assert "root:x:0:" in (tmp_path / "etc" / "group").read_text()
    assert oct((tmp_path / "tmp").stat().st_mode & 0o7777) == "0o1777"


def test_slimming_never_writes_through_a_symlink_out_of_the_tree(tmp_path):
    outside = tmp_path / "host-file"
    outside.write_text("keep me")
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "var" / "log").mkdir(parents=True)
    (root / "usr" / "share" / "doc" / "pkg").mkdir(parents=True)
    (root / "usr" / "share" / "doc" / "pkg" / "copyright").write_text("c")
    (root / "usr" / "share" / "doc" / "pkg" / "README").write_text("r")
    (root / "usr" / "share" / "doc" / "link").symlink_to(tmp_path)
    (root / "etc" / "resolv.conf").symlink_to(outside)
    (root / "var" / "log" / "dpkg.log").write_text("lots")
    rootfs.slim(root)
    assert outside.read_text() == "keep me"
    assert (root / "etc" / "resolv.conf").read_text() == ""
    assert (root / "var" / "log" / "dpkg.log").read_text() == ""
    assert sorted(p.name for p in (root / "usr" / "share" / "doc" / "pkg").iterdir()) == ["copyright"]


def test_a_tree_with_a_mount_inside_is_never_removed(tmp_path):
    tree = tmp_path / "rootfs"
    (tree / "proc").mkdir(parents=True)
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"36 35 0:3 / {tree}/proc rw,relatime - proc proc rw\n")
    assert rootfs.mounts_under(tree, mountinfo) == [f"{tree}/proc"]
    assert rootfs.mounts_under(tmp_path / "elsewhere", mountinfo) == []


class FakeImage:
    def __init__(self, image_id: str):
        self.id = image_id
        self.tags: list[str] = []

    def tag(self, name: str) -> None:
        self.tags.append(name)


class FakeImages:
    """Just enough of the docker SDK's image collection for the catalog's load and pull logic."""

    def __init__(self, held: dict[str, str], after_load: dict[str, str] | None = None):
        self.held, self.after_load = held, after_load or {}
        self.loaded, self.removed, self.pulled = [], [], []

    def get(self, name: str) -> FakeImage:
        if name not in self.held:
            raise docker.errors.ImageNotFound(name)
        return FakeImage(self.held[name])

    def load(self, data) -> None:
        self.loaded.append(Path(data.name).name)
        self.held.update(self.after_load)

    def remove(self, image_id: str) -> None:
        self.removed.append(image_id)

    def pull(self, repository: str, tag: str) -> FakeImage:
        self.pulled.append(f"{repository}:{tag}")
        return FakeImage("sha256:pulled")


class FakeClient:
    def __init__(self, images: FakeImages):
        self.images = images

    def close(self) -> None:
        pass


def write_catalog_entry(name: str, image_id: str) -> None:
    catalog.tarball_path(name).parent.mkdir(parents=True, exist_ok=True)
    catalog.tarball_path(name).write_bytes(b"tar")
    manifest = {"name": name, "recipe": catalog.RECIPE_VERSIONS[name], "id": image_id}
    catalog.manifest_path(name).write_text(json.dumps(manifest))


def test_loading_skips_an_image_the_daemon_already_has_and_replaces_an_old_one(
    catalog_cache, sandbox_root, settings, monkeypatch
):
    settings.CATALOG_IMAGES = ["busybox:latest", "python:3.11-slim"]
    write_catalog_entry("busybox:latest", "sha256:busy")
    write_catalog_entry("python:3.11-slim", "sha256:new")
    write_catalog_entry(catalog.PROBE_IMAGE, "sha256:probe")
    images = FakeImages(
        held={"busybox:latest": "sha256:busy", "python:3.11-slim": "sha256:old", catalog.PROBE_IMAGE: "sha256:probe"},
        after_load={"python:3.11-slim": "sha256:new"},
    )
    monkeypatch.setattr(catalog, "make_client", lambda host, timeout=60, ping=True: FakeClient(images))
    results = catalog.load_into(daemons.daemon(0))
    assert [(r.name, r.loaded) for r in results] == [
        ("busybox:latest", False),
        ("python:3.11-slim", True),
        (catalog.PROBE_IMAGE, False),
    ]
    assert images.loaded == ["python_3.11-slim.tar"]
    assert images.removed == ["sha256:old"]


def test_the_probe_is_loaded_into_every_daemon_with_the_catalog(catalog_cache, sandbox_root, settings, monkeypatch):
    settings.CATALOG_IMAGES = ["busybox:latest"]
    write_catalog_entry("busybox:latest", "sha256:busy")
    write_catalog_entry(catalog.PROBE_IMAGE, "sha256:probe")
    images = FakeImages(held={"busybox:latest": "sha256:busy"}, after_load={catalog.PROBE_IMAGE: "sha256:probe"})
    monkeypatch.setattr(catalog, "make_client", lambda host, timeout=60, ping=True: FakeClient(images))
    results = catalog.load_into(daemons.daemon(0))
    assert [(r.name, r.loaded) for r in results] == [("busybox:latest", False), (catalog.PROBE_IMAGE, True)]
    assert images.loaded == ["dockyard-probe_1.tar"]


def test_a_missing_probe_tarball_says_how_to_make_it(catalog_cache, sandbox_root, settings, monkeypatch):
    settings.CATALOG_IMAGES = ["busybox:latest"]
    write_catalog_entry("busybox:latest", "sha256:busy")
    images = FakeImages(held={"busybox:latest": "sha256:busy"})
    monkeypatch.setattr(catalog, "make_client", lambda host, timeout=60, ping=True: FakeClient(images))
    with pytest.raises(CatalogError, match=r"tarball for dockyard-probe:1 is missing; run `manage.py sandbox catalog`"):
        catalog.load_into(daemons.daemon(0))


def test_a_registry_mirror_is_pulled_from_instead_of_building(catalog_cache, sandbox_root, settings, monkeypatch):
    settings.CATALOG_REGISTRY_MIRROR = "https://mirror.example:5000/"
    settings.CATALOG_IMAGES = ["busybox:latest", "python:3.11-slim"]
    images = FakeImages(held={"busybox:latest": "sha256:busy"})
    monkeypatch.setattr(catalog, "make_client", lambda host, timeout=60, ping=True: FakeClient(images))
    assert catalog.build_catalog() == []
    results = catalog.load_into(daemons.daemon(0))
    # The probe is Dockyard's own image, so it has no library/ prefix in the mirror.
    assert images.pulled == ["mirror.example:5000/library/python:3.11-slim", "mirror.example:5000/dockyard-probe:1"]
    assert [(r.name, r.loaded) for r in results] == [
        ("busybox:latest", False),
        ("python:3.11-slim", True),
        (catalog.PROBE_IMAGE, True),
    ]


# --- Integration: the real running daemons -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def running_daemons():
    found = daemons.all_daemons()
    for d in found:
        try:
            make_client(d.docker_host, timeout=10).close()
        except SandboxError as error:
            pytest.fail(
                f"{d.name} at {d.docker_host} does not answer ({error.message}); run `manage.py sandbox start`."
            )
    return found


def buildkit_build(d: daemons.Daemon, context: Path, tag: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DOCKER_BUILDKIT="1", DOCKER_HOST=d.docker_host)
    # --no-cache: the step must really run, not be answered from an earlier test run's cache.
    args = [
        settings.DOCKER_CLI,
        "build",
        "--no-cache",
        "--network",
        "none",
        "--progress=plain",
        "-t",
        tag,
        str(context),
    ]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def remove_image(d: daemons.Daemon, tag: str) -> None:
    client = make_client(d.docker_host)
    try:
        client.images.remove(tag, force=True)
    except docker.errors.ImageNotFound:
        pass
    finally:
        client.close()


@pytest.mark.sandbox
def test_every_daemon_answers_with_user_namespaces(running_daemons):
    for d in running_daemons:
        client = make_client(d.docker_host)
        try:
            info = client.info()
        finally:
            client.close()
        assert any("name=userns" in option for option in info["SecurityOptions"]), d.name
        if not d.remote:
            assert info["DockerRootDir"].startswith(str(d.data_root))
            assert daemons.status(d).pid == daemons.read_pid(d.pidfile)


@pytest.mark.sandbox
def test_every_daemon_lives_in_a_network_namespace_with_only_loopback(running_daemons):
    for d in running_daemons:
        if d.remote:
            continue
        pid = daemons.read_pid(d.pidfile)
        assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net"), d.name
        assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{d.name}").st_ino
        links = subprocess.run(["ip", "-n", d.name, "-o", "link"], capture_output=True, text=True, check=True)
        assert [line.split(":")[1].strip() for line in links.stdout.splitlines()] == ["lo"]


@pytest.mark.sandbox
def test_cgroup_limits_are_written(running_daemons):
    megabytes = settings.SANDBOX_MEMORY_MB * 1024 * 1024
    for d in running_daemons:
        if d.remote:
            continue
        limits = cgroups_module.read_cgroup_limits(d.name)
        assert limits["memory.limit_in_bytes"] == str(megabytes)
        assert limits.get("memory.memsw.limit_in_bytes", str(megabytes)) == str(megabytes)
        assert limits["pids.max"] == str(settings.SANDBOX_PIDS)
        assert limits["cpu.cfs_quota_us"] == str(settings.SANDBOX_CPUS * int(limits["cpu.cfs_period_us"]))


@pytest.mark.sandbox
def test_the_catalog_is_in_every_daemon(running_daemons):
    for d in running_daemons:
        client = make_client(d.docker_host)
        try:
            for name in catalog.images_to_make():
                image = client.images.get(name)
                assert name in image.tags
                if not settings.CATALOG_REGISTRY_MIRROR:
                    assert image.labels[catalog.LABEL_CATALOG] == "1"
                    assert image.labels[catalog.LABEL_RECIPE] == catalog.RECIPE_VERSIONS[name]
                    assert image.id == catalog.read_manifest(name)["id"]
        finally:
            client.close()


@pytest.mark.sandbox
def test_root_in_a_container_is_uid_100000_on_the_host(running_daemons):
    client = make_client(running_daemons[0].docker_host)
    try:
        output = client.containers.run(
            "busybox:latest", ["cat", "/proc/self/uid_map"], network_mode="none", remove=True
        )
    finally:
        client.close()
    assert output.split()[:2] == [b"0", b"100000"]


@pytest.mark.sandbox
def test_pip_installs_flask_offline_in_a_buildkit_build(running_daemons, tmp_path):
    (tmp_path / "requirements.txt").write_text("flask\ngunicorn\nrequests\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim\n"
        "WORKDIR /app\n"
        "COPY requirements.txt .\n"
        "RUN pip install --no-cache-dir -r requirements.txt\n"
        'RUN python -c "import flask, gunicorn, requests"\n'
    )
    d, tag = running_daemons[-1], f"dockyard-test-pip-{uuid.uuid4().hex[:8]}"
    try:
        result = buildkit_build(d, tmp_path, tag)
    finally:
        remove_image(d, tag)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Successfully installed" in result.stderr


@pytest.mark.sandbox
def test_a_build_step_over_the_memory_limit_is_killed(running_daemons, tmp_path):
    over_limit = settings.SANDBOX_MEMORY_MB + 512
    (tmp_path / "Dockerfile").write_text(
        f"FROM python:3.11-slim\nRUN python3 -c \"b = b'x' * ({over_limit} * 1024 * 1024); print(len(b))\"\n"
    )
    d, tag = running_daemons[0], f"dockyard-test-oom-{uuid.uuid4().hex[:8]}"
    try:
        result = buildkit_build(d, tmp_path, tag)
    finally:
        remove_image(d, tag)
    assert result.returncode != 0
    assert "exit code: 137" in result.stderr, result.stderr[-3000:]
