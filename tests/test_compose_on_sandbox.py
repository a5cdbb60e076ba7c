"""Debian's docker-compose (1.29) runs a two-service project against a sandbox daemon.

The project's network is made inside the sandbox daemon, which has nothing but loopback, so nothing in it can
reach outside. Every container, network and volume carries the label dockyard.test=1, and `down -v` removes
them all at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
import uuid
from pathlib import Path

import pytest

from sandbox import catalog
from sandbox.clients import make_client

COMPOSE_FILE = textwrap.dedent(
    f"""\
    version: "3.8"
    services:
      cache:
        image: redis:7
        labels:
          dockyard.test: "1"
      probe:
        image: {catalog.PROBE_IMAGE}
        # Stops at once on `down` instead of waiting for the kill.
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
        depends_on:
          - cache
        labels:
          dockyard.test: "1"
    networks:
      default:
        labels:
          dockyard.test: "1"
    """
)


def compose(docker_host: str, project: str, folder: Path, *args: str) -> subprocess.CompletedProcess:
    command = shutil.which("docker-compose")
    if command is None:
        pytest.fail(
            "docker-compose is missing; scripts/setup.sh installs Debian's package (apt-get install docker-compose)"
        )
    env = dict(os.environ, DOCKER_HOST=docker_host, DOCKER_BUILDKIT="1", COMPOSE_DOCKER_CLI_BUILD="1")
    return subprocess.run(
        [command, "--project-name", project, "--file", str(folder / "docker-compose.yml"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.sandbox
def test_a_compose_service_reaches_the_other_by_its_service_name(docker_host, tmp_path):
    (tmp_path / "docker-compose.yml").write_text(COMPOSE_FILE)
    project = f"dockyardtest{uuid.uuid4().hex[:8]}"
    try:
        up = compose(docker_host, project, tmp_path, "up", "--detach", "--no-color")
        assert up.returncode == 0, up.stderr
        # The probe finds `cache` by name, then asks Redis there for a PONG once it is up.
        script = (
            "getent hosts cache >/dev/null && "
            "timeout 20 sh -c 'until redis-cli -h cache ping >/dev/null 2>&1; do sleep 0.1; done' && "
            "redis-cli -h cache ping"
        )
        pinged = compose(docker_host, project, tmp_path, "exec", "-T", "probe", "sh", "-c", script)
        assert (pinged.returncode, pinged.stdout) == (0, "PONG\n"), pinged.stderr
        # And the other way round: the Redis container resolves `probe`.
        found = compose(docker_host, project, tmp_path, "exec", "-T", "cache", "getent", "hosts", "probe")
        assert found.returncode == 0 and found.stdout.split()[1:] == ["probe"], found.stdout + found.stderr
    finally:
        down = compose(docker_host, project, tmp_path, "down", "--volumes", "--timeout", "5")
    assert down.returncode == 0, down.stderr
    client = make_client(docker_host, ping=False)
    try:
        project_filter = {"label": f"com.docker.compose.project={project}"}
        assert client.containers.list(all=True, filters=project_filter) == []
        assert client.networks.list(filters=project_filter) == []
        assert client.volumes.list(filters=project_filter) == []
    finally:
        client.close()
