"""The catalog's service images (redis:7, postgres:15), the grader's probe image, and busybox's wget.

Unit tests need nothing running: they check the image configuration, the recipe versions and the entrypoint
scripts (run on this machine with stand-in programs). Tests marked `sandbox` run the real images on a sandbox
daemon; every container, network and volume they make carries the label dockyard.test=1 and is removed again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import docker
import pytest

from sandbox import catalog, rootfs
from sandbox.clients import make_client

ROOT = Path(__file__).resolve().parent.parent
TEST_LABELS = {"dockyard.test": "1"}
REDIS_ENTRYPOINT = rootfs.CATALOG_FILES / "redis-entrypoint.sh"
POSTGRES_ENTRYPOINT = rootfs.CATALOG_FILES / "postgres-entrypoint.sh"


# --- Image configuration and recipes ------------------------------------------------------------------------------


def test_redis_runs_its_entrypoint_with_data_in_a_volume_like_the_official_image():
    changes = catalog.image_changes("redis:7", "7.0.15", "5:7.0.15-1~deb12u10")
    assert changes == [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV REDIS_VERSION=7.0.15",
        "WORKDIR /data",
        "VOLUME /data",
        "EXPOSE 6379",
        'ENTRYPOINT ["docker-entrypoint.sh"]',
        'CMD ["redis-server"]',
        "LABEL dockyard.catalog=1",
        f"LABEL dockyard.catalog.recipe={catalog.RECIPE_VERSIONS['redis:7']}",
        "LABEL org.opencontainers.image.description=\"Redis from Debian bookworm's redis-server package "
        '5:7.0.15-1~deb12u10, not the upstream redis image"',
    ]


def test_postgres_has_its_tools_on_path_and_pgdata_in_a_volume():
    changes = catalog.image_changes("postgres:15", "15.20", "15.20-0+deb12u1")
    assert (
        changes[0] == "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/15/bin"
    )
    assert "ENV PG_MAJOR=15" in changes and "ENV PG_VERSION=15.20" in changes
    assert "ENV PGDATA=/var/lib/postgresql/data" in changes and "VOLUME /var/lib/postgresql/data" in changes
    assert "EXPOSE 5432" in changes
    assert changes.index('ENTRYPOINT ["docker-entrypoint.sh"]') < changes.index('CMD ["postgres"]')
    assert changes[-1] == (
        "LABEL org.opencontainers.image.description=\"PostgreSQL from Debian bookworm's postgresql-15 package "
        '15.20-0+deb12u1, not the upstream postgres image"'
    )


def test_the_probe_is_labelled_as_catalog_and_probe_and_says_it_is_no_base_image():
    changes = catalog.image_changes(catalog.PROBE_IMAGE)
    assert "LABEL dockyard.catalog=1" in changes and "LABEL dockyard.probe=1" in changes
    assert changes[-1].endswith('; not a base image"')
    assert "LABEL dockyard.probe=1" not in catalog.image_changes("redis:7", "7.0.15", "7")


def test_the_earlier_images_keep_their_configuration_and_get_no_description():
    # Their tarballs are cached by recipe version, so their configuration must not change under them.
    assert catalog.image_changes("busybox:latest") == [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        'CMD ["sh"]',
        "LABEL dockyard.catalog=1",
        "LABEL dockyard.catalog.recipe=2-wget-timeout",
    ]
    assert catalog.image_changes("debian:bookworm-slim")[1] == 'CMD ["bash"]'


def test_editing_an_entrypoint_changes_the_recipe_of_its_image(tmp_path, monkeypatch):
    assert rootfs.file_version("redis-entrypoint.sh") in catalog.RECIPE_VERSIONS["redis:7"]
    assert rootfs.file_version("postgres-entrypoint.sh") in catalog.RECIPE_VERSIONS["postgres:15"]
    before = rootfs.file_version("redis-entrypoint.sh")
    (tmp_path / "redis-entrypoint.sh").write_text(REDIS_ENTRYPOINT.read_text() + "# edited\n")
    monkeypatch.setattr(rootfs, "CATALOG_FILES", tmp_path)
    assert rootfs.file_version("redis-entrypoint.sh") != before


def test_the_probe_is_made_and_loaded_with_the_catalog_but_never_allowed_in_from(settings):
    settings.CATALOG_IMAGES = ["busybox:latest", catalog.PROBE_IMAGE, "redis:7"]
    assert catalog.images_to_make() == ["busybox:latest", "redis:7", "dockyard-probe:1"]
    names = catalog.catalog_names()
    assert "redis:7" in names and "docker.io/library/redis:7" in names
    assert not [name for name in names if "probe" in name]


def test_the_default_catalog_has_the_service_images_and_not_the_probe():
    environment = {k: v for k, v in os.environ.items() if k != "CATALOG_IMAGES"}
    shown = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from django.conf import settings; print(','.join(settings.CATALOG_IMAGES))",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.stdout.strip() == "busybox:latest,debian:bookworm-slim,python:3.11-slim,redis:7,postgres:15"


def test_versions_are_read_from_the_servers_own_words():
    assert rootfs.redis_version("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64") == "7.0.15"
    assert rootfs.postgres_version("postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)") == "15.20"
    with pytest.raises(rootfs.CatalogError, match="Could not read a version from `redis-server --version`"):
        rootfs.redis_version("redis-server: command not found")


def test_the_sample_configuration_listens_on_every_address():
    sample = "# - Connection Settings -\n\n#listen_addresses = 'localhost'\t\t# what IP address(es) to listen on;\n"
    assert rootfs.listen_on_all_addresses(sample) == "# - Connection Settings -\n\nlisten_addresses = '*'\n"
    with pytest.raises(rootfs.CatalogError, match="0 listen_addresses lines"):
        rootfs.listen_on_all_addresses("port = 5432\n")


# --- Entrypoints, run here with stand-in programs -----------------------------------------------------------------


def stand_ins(folder: Path, programs: dict[str, str]) -> dict[str, str]:
    """Shell scripts named like the real programs, first on PATH; `id -u` answers 1000 (not root)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in {"id": "echo 1000\n", **programs}.items():
        path = folder / name
        path.write_text(f"#!/bin/sh\n{body}")
        path.chmod(0o755)
    return {"PATH": f"{folder}:/usr/bin:/bin", "HOME": str(folder)}


def run_entrypoint(script: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    shell = "sh" if script == REDIS_ENTRYPOINT else "bash"
    return subprocess.run([shell, str(script), *args], env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(
    ("args", "runs"),
    [
        (["redis-server"], "redis-server --protected-mode no"),
        (["--appendonly", "yes"], "redis-server --protected-mode no --appendonly yes"),
        (["redis-server", "--save", ""], "redis-server --protected-mode no --save "),
        # A configuration file must come first, and then it decides about protected mode.
        (["redis-server", "/etc/redis.conf", "--port", "7000"], "redis-server /etc/redis.conf --port 7000"),
        (["/etc/redis.conf"], "redis-server /etc/redis.conf"),
        (["echo", "other", "command"], "other command"),
    ],
)
def test_the_redis_entrypoint_turns_protected_mode_off_unless_a_config_file_is_named(tmp_path, args, runs):
    env = stand_ins(tmp_path / "bin", {"redis-server": 'echo "redis-server $*"\n'})
    result = run_entrypoint(REDIS_ENTRYPOINT, args, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == runs + "\n"


POSTGRES_STAND_INS = {
    # initdb records how it was called and what password it was given, and makes a cluster's version file.
    "initdb": 'echo "$@" > "$HOME/initdb.args"; cat "${2#--pwfile=}" > "$HOME/initdb.password"\n'
    'echo 15 > "$PGDATA/PG_VERSION"; touch "$PGDATA/pg_hba.conf"\n',
    "postgres": 'if [ "$1" = -C ]; then echo scram-sha-256; else echo "postgres $*"; fi\n',
    "pg_ctl": 'echo "pg_ctl $*" >> "$HOME/pg_ctl.calls"\n',
    "psql": 'echo "psql $* as $PGUSER" >> "$HOME/psql.calls"; cat >> "$HOME/psql.calls"\n',
}


def test_the_postgres_entrypoint_initialises_an_empty_pgdata_from_the_environment(tmp_path):
    home = tmp_path / "bin"
    env = stand_ins(home, POSTGRES_STAND_INS)
    data = tmp_path / "data"
    data.mkdir()
    env.update(PGDATA=str(data), POSTGRES_PASSWORD="s3cret", POSTGRES_USER="app", POSTGRES_DB="appdb")
    result = run_entrypoint(POSTGRES_ENTRYPOINT, ["postgres"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("PostgreSQL init process complete; ready for start up.\npostgres \n")
    assert (home / "initdb.args").read_text().startswith("--username=app --pwfile=")
    assert (home / "initdb.password").read_text() == "s3cret\n"
    assert (data / "pg_hba.conf").read_text() == "\nhost all all all scram-sha-256\n"
    assert (home / "pg_ctl.calls").read_text() == (
        f"pg_ctl -D {data} -o -c listen_addresses='' -w start\npg_ctl -D {data} -m fast -w stop\n"
    )
    psql = (home / "psql.calls").read_text()
    assert psql.startswith("psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --dbname postgres --set db=appdb as app")
    assert 'CREATE DATABASE :"db" ;' in psql


def test_the_postgres_entrypoint_trusts_everyone_only_when_told_to(tmp_path):
    home = tmp_path / "bin"
    env = stand_ins(home, POSTGRES_STAND_INS)
    data = tmp_path / "data"
    data.mkdir()
    env.update(PGDATA=str(data), POSTGRES_HOST_AUTH_METHOD="trust")
    result = run_entrypoint(POSTGRES_ENTRYPOINT, ["postgres"], env)
    assert result.returncode == 0, result.stderr
    assert (data / "pg_hba.conf").read_text() == "\nhost all all all trust\n"
    assert (home / "initdb.args").read_text().startswith("--username=postgres ")
    # POSTGRES_DB defaults to the user, postgres, which exists already.
    assert not (home / "psql.calls").exists()


def test_the_postgres_entrypoint_refuses_to_initialise_without_a_password(tmp_path):
    env = stand_ins(tmp_path / "bin", POSTGRES_STAND_INS)
    data = tmp_path / "data"
    data.mkdir()
    env["PGDATA"] = str(data)
    result = run_entrypoint(POSTGRES_ENTRYPOINT, ["postgres"], env)
    assert result.returncode == 1
    assert "the superuser has no password" in result.stderr and "POSTGRES_PASSWORD" in result.stderr
    assert list(data.iterdir()) == []


def test_the_postgres_entrypoint_never_initialises_existing_data_again(tmp_path):
    env = stand_ins(tmp_path / "bin", POSTGRES_STAND_INS)
    data = tmp_path / "data"
    data.mkdir()
    (data / "PG_VERSION").write_text("15\n")
    env.update(PGDATA=str(data), POSTGRES_PASSWORD="another")
    result = run_entrypoint(POSTGRES_ENTRYPOINT, ["-c", "max_connections=20"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "PostgreSQL Database directory appears to contain a database; Skipping initialization\n"
        "postgres -c max_connections=20\n"
    )
    assert not (tmp_path / "bin" / "initdb.args").exists()


def test_the_postgres_entrypoint_runs_other_commands_as_they_are(tmp_path):
    env = stand_ins(tmp_path / "bin", POSTGRES_STAND_INS)
    result = run_entrypoint(POSTGRES_ENTRYPOINT, ["echo", "psql", "--version"], env)
    assert (result.returncode, result.stdout) == (0, "psql --version\n")


# --- Integration: the real images on a sandbox daemon --------------------------------------------------------------


@pytest.fixture
def client(docker_host):
    client = make_client(docker_host, timeout=120, ping=False)
    yield client
    client.close()


def unique(prefix: str) -> str:
    return f"dockyard-test-{prefix}-{uuid.uuid4().hex[:8]}"


def run_to_end(client: docker.DockerClient, image: str, command: list[str], timeout: float = 60, **options) -> str:
    """Run a container until it exits, remove it, and return its output; a non-zero exit fails the test."""
    container = client.containers.create(image, command, labels=TEST_LABELS, **options)
    try:
        container.start()
        status = container.wait(timeout=timeout)
        output = container.logs(stdout=True, stderr=True).decode()
    finally:
        container.remove(force=True, v=True)
    assert status["StatusCode"] == 0, output
    return output


def probe(client: docker.DockerClient, network_mode: str, script: str, **options) -> str:
    return run_to_end(client, catalog.PROBE_IMAGE, ["sh", "-c", script], network_mode=network_mode, **options)


def remove_quietly(action) -> None:
    try:
        action()
    except docker.errors.NotFound:
        pass


@pytest.mark.sandbox
def test_busybox_wget_fetches_from_busybox_httpd_by_address_and_by_localhost(client):
    script = (
        "mkdir /www && echo 'served by httpd' > /www/x && busybox httpd -p 127.0.0.1:8080 -h /www && "
        "wget -q -O- http://127.0.0.1:8080/x && wget -q -O- http://localhost:8080/x"
    )
    output = run_to_end(client, "busybox:latest", ["sh", "-c", script], network_mode="none")
    assert output == "served by httpd\nserved by httpd\n"


@pytest.mark.sandbox
def test_busybox_wget_takes_a_timeout_option_without_crashing(client):
    # Debian's own busybox crashes (exit code 139) on each of these; the catalog's says what went wrong (1).
    script = (
        "for form in '-T 1' '-qT1' '-q -T 1'; do wget $form -O /dev/null http://127.0.0.1:9/ 2>/dev/null; "
        'echo "$form: $?"; done'
    )
    output = run_to_end(client, "busybox:latest", ["sh", "-c", script], network_mode="none")
    assert output.splitlines() == ["-T 1: 1", "-qT1: 1", "-q -T 1: 1"]


def test_the_busybox_copy_is_patched_once_keeping_its_size(tmp_path):
    binary = tmp_path / "busybox"
    binary.write_bytes(b"\x7fELF..." + rootfs.WGET_OPTIONS + b"more")
    size = binary.stat().st_size
    assert rootfs.fix_wget_timeout(binary) is True
    assert rootfs.WGET_OPTIONS_FIXED in binary.read_bytes() and binary.stat().st_size == size
    assert rootfs.fix_wget_timeout(binary) is False


@pytest.mark.sandbox
def test_a_busybox_wget_healthcheck_turns_healthy(client):
    # The line many tutorials write (with wget's -T, which crashes Debian's busybox itself), against busybox's
    # own web server.
    healthcheck = {
        "test": ["CMD-SHELL", "wget -q -T 3 -O- http://127.0.0.1:8000/ || exit 1"],
        "interval": 300_000_000,
        "timeout": 2_000_000_000,
        "retries": 3,
    }
    command = ["sh", "-c", "mkdir /www && echo ok > /www/index.html && exec httpd -f -p 8000 -h /www"]
    container = client.containers.run(
        "busybox:latest", command, detach=True, network_mode="none", labels=TEST_LABELS, healthcheck=healthcheck
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            container.reload()
            health = container.attrs["State"].get("Health", {})
            if health.get("Status") != "starting":
                break
            time.sleep(0.2)
    finally:
        container.remove(force=True, v=True)
    assert health["Status"] == "healthy", health
    assert health["Log"][-1]["ExitCode"] == 0 and health["Log"][-1]["Output"] == "ok\n"


@pytest.mark.sandbox
def test_redis_on_a_user_network_answers_the_probe_by_name(client):
    network = client.networks.create(unique("net"), labels=TEST_LABELS)
    name = unique("redis")
    try:
        redis = client.containers.run("redis:7", detach=True, name=name, network=network.name, labels=TEST_LABELS)
        wait = f"timeout 20 sh -c 'until redis-cli -h {name} ping >/dev/null 2>&1; do sleep 0.1; done'"
        assert probe(client, network.name, f"{wait} && redis-cli -h {name} ping") == "PONG\n"
        # From inside the server's own network namespace, as the grader probes.
        assert probe(client, f"container:{redis.id}", "redis-cli -h 127.0.0.1 set k v") == "OK\n"
        # The server is redis, not root, and listens on every address with protected mode off.
        assert redis.exec_run(["stat", "-c", "%U", "/proc/1"]).output == b"redis\n"
        config = probe(
            client, f"container:{redis.id}", "redis-cli config get protected-mode; redis-cli config get bind"
        )
        assert config == "protected-mode\nno\nbind\n* -::*\n"
    finally:
        remove_quietly(lambda: client.containers.get(name).remove(force=True, v=True))
        network.remove()


@pytest.mark.sandbox
def test_postgres_data_on_a_named_volume_outlives_its_container(client):
    volume = client.volumes.create(unique("pgdata"), labels=TEST_LABELS)
    environment = {"POSTGRES_PASSWORD": "s3cret", "POSTGRES_USER": "app", "POSTGRES_DB": "appdb"}
    mounts = {volume.name: {"bind": "/var/lib/postgresql/data", "mode": "rw"}}
    ready = "timeout 60 sh -c 'until pg_isready -h 127.0.0.1 -U app -d appdb -q; do sleep 0.2; done'"
    psql = "PGPASSWORD=s3cret psql -h 127.0.0.1 -U app -d appdb -v ON_ERROR_STOP=1 -At"
    names = [unique("pg-first"), unique("pg-second")]
    try:
        first = client.containers.run(
            "postgres:15",
            detach=True,
            name=names[0],
            network_mode="none",
            labels=TEST_LABELS,
            environment=environment,
            volumes=mounts,
        )
        probe(client, f"container:{first.id}", ready)
        created = probe(
            client,
            f"container:{first.id}",
            f"{psql} -c \"CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')\"",
        )
        assert created == "CREATE TABLE\nINSERT 0 1\n"
        assert first.exec_run(["stat", "-c", "%U", "/proc/1"]).output == b"postgres\n"
        first.remove(force=True)

        # Another password on the second start changes nothing: existing data is never initialised again.
        second = client.containers.run(
            "postgres:15",
            detach=True,
            name=names[1],
            network_mode="none",
            labels=TEST_LABELS,
            environment={"POSTGRES_PASSWORD": "ignored"},
            volumes=mounts,
        )
        probe(client, f"container:{second.id}", ready)
        assert probe(client, f"container:{second.id}", f'{psql} -c "SELECT body FROM notes"') == "kept\n"
        log = second.logs().decode()
        assert "Skipping initialization" in log and "init process complete" not in log
    finally:
        for name in names:
            remove_quietly(lambda name=name: client.containers.get(name).remove(force=True, v=True))
        volume.remove(force=True)


@pytest.mark.sandbox
def test_the_probe_has_its_tools_and_no_pip(client):
    script = (
        "for tool in curl nc redis-cli psql pg_isready python3 ip ps; do command -v $tool >/dev/null || echo missing $tool; done; "
        "command -v pip pip3 dig nslookup || true; python3 -c 'import sys; print(sys.version_info[0])'"
    )
    assert probe(client, "none", script) == "3\n"
    image = client.images.get(catalog.PROBE_IMAGE)
    assert image.labels["dockyard.catalog"] == "1" and image.labels["dockyard.probe"] == "1"
